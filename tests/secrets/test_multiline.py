"""Assignments whose value continues on the next line(s): each true positive next to its clean twin."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from pytest_mlsec.secrets.detectors import scan_buffer
from pytest_mlsec.secrets.scanner import ScanOptions, scan_targets
from tests.secrets.fakes import HEX, Fakes

F = Fakes(20261127)


def found(text: str, kind: str = "text") -> list[tuple[str, str]]:
    return [(c.detector, c.value) for c in scan_buffer(text.encode(), kind)]  # type: ignore[arg-type]


def _secret_cases() -> list[tuple[str, str, str, str]]:
    """(id, kind, text, secret)."""
    wandb = F.pick(HEX, 40)
    key = F.api_key(40)
    pw = F.password()
    hf = F.huggingface()
    return [
        ("yaml-folded", "text", f"wandb:\n  apiKey: >-\n    {wandb}\nproject: x\n", wandb),
        ("yaml-literal", "text", f"wandb:\n  apiKey: |\n    {wandb}\n", wandb),
        ("yaml-literal-keep", "text", f"auth:\n  api_token: |+\n      {key}\n\nnext: 1\n", key),
        ("yaml-plain-next-line", "text", f"db:\n  password:\n    {pw}\n  host: h\n", pw),
        ("yaml-quoted-next-line", "text", f'db:\n  password:\n    "{pw}"\n', pw),
        ("toml-multiline-basic", "text", f'[auth]\ntoken = """\n{key}"""\n', key),
        ("toml-multiline-literal", "text", f"[auth]\nsecret_key = '''\n{key}\n'''\n", key),
        ("toml-line-ending-backslash", "text", f'[auth]\ntoken = """\\\n  {key[:20]}\\\n  {key[20:]}"""\n', key),
        ("python-paren-concat", "code", f'API_KEY = (\n    "{key[:20]}"\n    "{key[20:]}"\n)\n', key),
        ("python-paren-dict-entry", "code", f'cfg = {{\n    "api_key": (\n        "{key}"\n    ),\n}}\n', key),
        ("python-backslash-concat", "code", f'API_KEY = "{key[:20]}" \\\n    "{key[20:]}"\n', key),
        ("python-split-hf-token", "code", f'HF = (\n    "{hf[:12]}"\n    "{hf[12:]}"\n)\n', hf),
        ("shell-continuation", "text", f"export API_TOKEN=\\\n  {key}\n", key),
        ("cli-flag-continuation", "text", f"python train.py \\\n  --api-key \\\n  {key} \\\n  --epochs 3\n", key),
    ]


@pytest.mark.parametrize(
    ("kind", "text", "secret"), [c[1:] for c in _secret_cases()], ids=[c[0] for c in _secret_cases()]
)
def test_value_on_following_lines_is_judged(kind: str, text: str, secret: str) -> None:
    assert secret in [value for _, value in found(text, kind)], found(text, kind)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("text", "wandb:\n  apiKey: >-\n    ${WANDB_API_KEY}\n"),
        ("text", "wandb:\n  apiKey: |\n    <your-wandb-key>\n"),
        ("text", "description: |\n  The token is read from the environment;\n  never write it here.\n"),
        ("text", "env:\n  password:\n    valueFrom:\n      secretKeyRef:\n        name: db\n"),
        ("text", "password:\n  secretKeyRef:\n    name: db\n"),
        ("text", 'token = """\nyour-token-here\n"""\n'),
        ("text", "export API_TOKEN=\\\n  $(vault read -field=token secret/ci)\n"),
        ("text", f"sha256:\n  {F.pick(HEX, 64)}\n"),
        ("code", 'API_KEY = (\n    os.environ["API_KEY"]\n)\n'),
        ("code", 'API_KEY = (\n    f"{prefix}"\n    "suffix-with-more-words"\n)\n'),
        ("code", 'message = (\n    "Set the API token in the environment before "\n    "calling the service."\n)\n'),
        ("code", 'token_help = """\nRead the token from WANDB_API_KEY.\n"""\n'),
        ("code", "if token:\n    pass\n"),
    ],
)
def test_clean_multiline_twins_stay_silent(kind: str, text: str) -> None:
    assert found(text, kind) == []


def test_multiline_finding_points_at_the_value_line_once(tmp_path: Path) -> None:
    wandb = F.pick(HEX, 40)
    (tmp_path / "values.yaml").write_text(f"image: x\nwandb:\n  apiKey: >-\n    {wandb}\n")
    findings = scan_targets([str(tmp_path)], ScanOptions(jobs=1)).findings
    assert len(findings) == 1
    assert findings[0].location.line == 4
    assert findings[0].severity.name == "HIGH"
    assert wandb not in json.dumps(findings[0].evidence)  # redacted, as for single-line secrets


def test_token_already_on_one_line_is_not_reported_twice() -> None:
    hf = F.huggingface()
    assert found(f"HF = (\n    '{hf}'\n)\n", "code") == [("huggingface", hf)]


def test_unterminated_constructs_do_not_raise_or_report() -> None:
    for text in ('token = """\n' + "x\n" * 100, "API_KEY = (\n" + '"a"\n' * 100, "key: |\n", "a=\\\n"):
        assert found(text, "code") == []
        assert found(text, "text") == []


def _jwt(payload: dict[str, object], alg: str = "HS256") -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part(payload)}.{F.api_key(43)}"


def _jwt_severity(token: str, tmp_path: Path) -> str | None:
    (tmp_path / "client.py").write_text(f'HEADERS = {{"Authorization": "Bearer {token}"}}\n')
    findings = [f for f in scan_targets([str(tmp_path)], ScanOptions(jobs=1)).findings if f.rule_id == "MLSEC-SEC-012"]
    return findings[0].severity.name if findings else None


@pytest.mark.parametrize(
    ("payload", "alg", "expected"),
    [
        ({"sub": "svc-ingest", "scope": "models:write"}, "HS256", "HIGH"),  # no exp: lives until key rotation
        ({"sub": "svc-ingest", "exp": int(time.time()) + 10 * 365 * 86400}, "RS256", "HIGH"),
        ({"sub": "svc-ingest", "exp": 1000000000}, "HS256", "MEDIUM"),  # expired in 2001
        ({"sub": "svc-ingest"}, "none", None),  # unsigned: grants nothing
        ({"sub": "user", "iss": "https://auth.example.com"}, "HS256", None),  # documentation example
        ({"sub": "<your-user-id>"}, "HS256", None),
    ],
)
def test_jwt_severity(payload: dict[str, object], alg: str, expected: str | None, tmp_path: Path) -> None:
    assert _jwt_severity(_jwt(payload, alg), tmp_path) == expected


@pytest.mark.parametrize("value", ["not-a-real-secret", "NOT_A_REAL_PASSWORD", "notavalidtoken"])
def test_self_described_placeholders_are_not_passwords(value: str) -> None:
    assert found(f'password = "{value}"\n', "code") == []
    assert found(f"api_key: {value}-{F.api_key(8)}\n") == []


def test_a_password_mentioning_real_is_still_reported() -> None:
    pw = "Real" + F.password()
    assert [d for d, _ in found(f'password = "{pw}"\n', "code")] == ["password-assignment"]

"""The secret detectors and the one scanning loop that runs them over a buffer.

Speed comes from a two-stage design: each detector names cheap lowercase *anchors*
(``b"hf_"``, ``b"://"``, ``b"password"``); one ``bytes.find`` pass per anchor over the
lowered buffer (memchr speed) yields the few candidate lines, and only those lines are
matched against the detector's precise regexes. A file without any anchor costs a handful
of ``find`` calls.

Precision comes from the judges: formats with a checksum are verified (GitHub), structured
tokens are decoded (JWT), generic assignments need a secret-like *name* and a secret-like
*value*, and entropy is only a secondary signal next to a secret-like word.

This module is shared with the environment-isolation check: :func:`scan_value` judges one
environment variable with the same detectors.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from pytest_mlsec.secrets import judge, multiline

Kind = Literal["text", "code", "netrc"]
"""How assignments are read: ``code`` (Python) only trusts quoted literals; ``netrc`` reads ``password X``."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A secret found in a buffer. ``value`` stays inside the scanning process (see :mod:`.redact`)."""

    detector: str
    value: str
    start: int
    end: int
    medium: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Line:
    data: bytes
    start: int
    end: int
    kind: Kind


Judge = Callable[["re.Match[bytes]", _Line], Candidate | None]


@dataclass(frozen=True)
class Detector:
    """Anchors (lowercase bytes) select candidate lines; each pattern's judge turns a match into a candidate."""

    id: str
    anchors: tuple[bytes, ...]
    patterns: tuple[tuple[re.Pattern[bytes], Judge], ...]
    window: int = 0
    generic: bool = False  # yields to a specific detector that claimed the same bytes


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _low_diversity(body: str) -> bool:
    """``xxxxxxxx``, ``ABCDEFGH...``, ``1234...``: documentation fillers, not tokens."""
    if len(set(body)) < 8:
        return True
    run = sum(1 for a, b in itertools.pairwise(body) if ord(b) - ord(a) == 1)
    return run > len(body) // 2


def _simple(detector: str, group: int = 1, *, check: Callable[[str], bool] | None = None) -> Judge:
    def judge_(m: re.Match[bytes], line: _Line) -> Candidate | None:
        value = _text(m.group(group))
        if check is not None and not check(value):
            return None
        return Candidate(detector, value, m.start(group), m.end(group))

    return judge_


# --- AWS ---------------------------------------------------------------------------------------

_AWS_EXAMPLES = frozenset({"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"})


def _aws_key_id(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group(1))
    if value in _AWS_EXAMPLES or "EXAMPLE" in value or _low_diversity(value[4:]):
        return None
    temporary = value.startswith("ASIA")
    return Candidate(
        "aws-access-key",
        value,
        m.start(1),
        m.end(1),
        medium=temporary,
        note="temporary (ASIA) key id" if temporary else "long-lived (AKIA) key id",
    )


def _aws_secret(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group(1))
    if value in _AWS_EXAMPLES or "EXAMPLE" in value or judge.entropy(value) < 3.5 or judge.char_classes(value) < 2:
        return None
    return Candidate("aws-secret-key", value, m.start(1), m.end(1))


_SEP = rb"[\"'\]]{0,2}\s*(?::=|=>|=|:|,)\s*[\"'(]?\s*"

AWS = (
    Detector(
        "aws-access-key",
        (b"akia", b"asia", b"abia", b"acca"),
        ((re.compile(rb"(?<![A-Za-z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Za-z0-9])"), _aws_key_id),),
    ),
    Detector(
        "aws-secret-key",
        (b"secret_access_key", b"secretaccesskey", b"secret-access-key", b"aws_secret", b"secret_key", b"secretkey"),
        (
            (
                re.compile(
                    rb"(?i:(?:aws)?[_\-.]?secret[_\-.]?(?:access)?[_\-.]?key(?:[_\-.]?id)?)"
                    + _SEP
                    + rb"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
                ),
                _aws_secret,
            ),
        ),
    ),
    Detector(
        "aws-session-token",
        (b"session_token", b"sessiontoken", b"security_token", b"session-token"),
        (
            (
                re.compile(
                    rb"(?i:(?:aws)?[_\-.]?(?:session|security)[_\-.]?token)" + _SEP + rb"([A-Za-z0-9/+=]{100,})"
                ),
                _simple("aws-session-token", check=lambda v: not _low_diversity(v)),
            ),
        ),
    ),
)

# --- token formats with a fixed prefix ---------------------------------------------------------

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def github_checksum_ok(token: str) -> bool:
    """GitHub's classic tokens end in the base62 CRC32 of their 30 random characters."""
    body, check = token[4:-6], token[-6:]
    n = zlib.crc32(body.encode("ascii", "replace"))
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return digits.rjust(6, "0") == check


def _github(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group(1))
    if value.startswith("github_pat_"):
        if _low_diversity(value[11:]):
            return None
        return Candidate("github", value, m.start(1), m.end(1), note="fine-grained token")
    if _low_diversity(value[4:]):
        return None
    if github_checksum_ok(value):
        return Candidate("github", value, m.start(1), m.end(1), note="checksum verified")
    return Candidate(
        "github", value, m.start(1), m.end(1), medium=True, note="checksum does not match: probably fake or truncated"
    )


def _prefixed(detector: str, prefix_len: int) -> Judge:
    def judge_(m: re.Match[bytes], line: _Line) -> Candidate | None:
        value = _text(m.group(1))
        if _low_diversity(value[prefix_len:]) or judge.is_placeholder(value):
            return None
        return Candidate(detector, value, m.start(1), m.end(1))

    return judge_


def _openai(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group(1))
    body = value[3:]
    structured = value.startswith(("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-"))
    if "T3BlbkFJ" in value or (structured and len(value) >= 40) or re.fullmatch(r"[A-Za-z0-9]{48}", body):
        if _low_diversity(body):
            return None
        return Candidate("openai", value, m.start(1), m.end(1))
    return None


PREFIXED = (
    Detector(
        "huggingface",
        (b"hf_", b"api_org_"),
        (
            (
                re.compile(rb"(?<![A-Za-z0-9_\-])(hf_[A-Za-z0-9]{30,40}|api_org_[A-Za-z0-9]{30,40})(?![A-Za-z0-9_\-])"),
                _prefixed("huggingface", 3),
            ),
        ),
    ),
    Detector(
        "github",
        (b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_", b"github_pat_"),
        (
            (
                re.compile(
                    rb"(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})"
                    rb"(?![A-Za-z0-9_])"
                ),
                _github,
            ),
        ),
    ),
    Detector(
        "anthropic",
        (b"sk-ant-",),
        (
            (
                re.compile(rb"(?<![A-Za-z0-9_\-])(sk-ant-(?:api|admin|sid)\d\d-[A-Za-z0-9_\-]{40,})(?![A-Za-z0-9_\-])"),
                _prefixed("anthropic", 14),
            ),
        ),
    ),
    Detector(
        "openai",
        (b"sk-",),
        ((re.compile(rb"(?<![A-Za-z0-9_\-])(sk-[A-Za-z0-9_\-]{20,220})(?![A-Za-z0-9_\-])"), _openai),),
    ),
    Detector(
        "databricks",
        (b"dapi",),
        (
            (
                re.compile(rb"(?<![A-Za-z0-9])(dapi[0-9a-f]{32}(?:-\d)?)(?![A-Za-z0-9])"),
                _prefixed("databricks", 4),
            ),
        ),
    ),
    Detector(
        "prefect",
        (b"pnu_", b"pnb_"),
        ((re.compile(rb"(?<![A-Za-z0-9_])(pn[ub]_[A-Za-z0-9]{36})(?![A-Za-z0-9_])"), _prefixed("prefect", 4)),),
    ),
    Detector(
        "service-token",
        (b"glpat-", b"aiza", b"sk_live_", b"rk_live_", b"npm_", b"pypi-ageic", b"gsk_", b"r8_", b"xai-"),
        (
            (
                re.compile(
                    rb"(?<![A-Za-z0-9_\-])(glpat-[A-Za-z0-9_\-]{20,}|AIza[0-9A-Za-z_\-]{35}|[sr]k_live_[0-9A-Za-z]{24,}"
                    rb"|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}|gsk_[A-Za-z0-9]{52}"
                    rb"|r8_[A-Za-z0-9]{37}|xai-[A-Za-z0-9]{80})(?![A-Za-z0-9_\-])"
                ),
                _prefixed("service-token", 4),
            ),
        ),
    ),
    Detector(
        "slack-webhook",
        (b"hooks.slack.com",),
        (
            (
                re.compile(
                    rb"(https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Za-z0-9_/]{20,})"
                ),
                _simple("slack-webhook", check=lambda v: not judge.is_placeholder(v) and "XXXX" not in v),
            ),
        ),
    ),
    Detector(
        "slack-token",
        (b"xox", b"xapp-"),
        (
            (
                re.compile(rb"(?<![A-Za-z0-9_\-])((?:xox[abposr]|xapp)-[0-9A-Za-z\-]{20,})(?![A-Za-z0-9_\-])"),
                _prefixed("slack-token", 5),
            ),
        ),
    ),
)

# --- context-bound ML platform keys -----------------------------------------------------------

_HEX40 = rb"((?:local-)?[0-9a-f]{40})(?![0-9a-fA-F])"
ML_PLATFORMS = (
    Detector(
        "wandb",
        (b"wandb",),
        (
            (re.compile(rb"(?i:wandb[_\-.]?api[_\-.]?key)" + _SEP + _HEX40), _prefixed("wandb", 0)),
            (re.compile(rb"wandb\.login\([^)]{0,80}?[\"']" + _HEX40), _prefixed("wandb", 0)),
            (re.compile(rb"wandb\s+login\s+(?:--\S+\s+)*" + _HEX40), _prefixed("wandb", 0)),
            (
                re.compile(rb"machine\s+api\.wandb\.ai\s+(?:login\s+\S+\s+)?password\s+" + _HEX40),
                _prefixed("wandb", 0),
            ),
        ),
        window=256,
    ),
    Detector(
        "kaggle",
        (b"kaggle", b'"key"'),
        (
            (re.compile(rb"(?i:kaggle[_\-.]?key)" + _SEP + rb"([0-9a-f]{32})(?![0-9a-fA-F])"), _prefixed("kaggle", 0)),
            (
                re.compile(rb"\"username\"\s*:\s*\"[^\"\n]{1,64}\"\s*,\s*\"key\"\s*:\s*\"([0-9a-f]{32})\""),
                _prefixed("kaggle", 0),
            ),
        ),
    ),
    Detector(
        "airflow-fernet",
        (b"fernet",),
        (
            (
                re.compile(rb"(?i:fernet[_\-.]?key)" + _SEP + rb"([A-Za-z0-9_\-]{43}=)(?![A-Za-z0-9_\-=])"),
                _prefixed("airflow-fernet", 0),
            ),
        ),
    ),
)

# --- structured: JWT, private keys ------------------------------------------------------------


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


_JWT_IDENTITY_FIELDS = ("iss", "sub", "aud", "name", "email", "preferred_username")
_EXAMPLE_DOMAIN = re.compile(r"(?i)(?:^|[@./])example\.(?:com|org|net)\b|(?:^|//)localhost\b")


def _jwt_is_fixture(payload: object) -> bool:
    """A payload that names itself an example (``sub: "your-user"``, ``iss: https://example.com``)."""
    if not isinstance(payload, dict):
        return False
    for field in _JWT_IDENTITY_FIELDS:
        value = payload.get(field)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and (judge.is_placeholder(item) or _EXAMPLE_DOMAIN.search(item)):
                return True
    return False


def _jwt(m: re.Match[bytes], line: _Line) -> Candidate | None:
    """A signed JWT is a bearer credential: high unless it has expired or is an example.

    An ``alg: none`` token is skipped: it carries no signature, so it grants nothing to a verifier
    that checks one. An expired token (``exp`` in the past) stays a finding at medium: it no longer
    authenticates, but it shows that live tokens are being pasted into the repository.
    """
    value = _text(m.group(1))
    header_part, payload_part, _ = value.split(".", 2)
    header = _b64url_json(header_part)
    payload = _b64url_json(payload_part)
    if not isinstance(header, dict) or "alg" not in header:
        return None
    if isinstance(payload, dict) and payload.get("sub") == "1234567890" and payload.get("name") == "John Doe":
        return None  # the specification's own example token
    if str(header.get("alg", "")).lower() == "none":
        return None  # unsigned: carries no authority
    if judge.is_placeholder(value) or _jwt_is_fixture(payload):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp < time.time():
        return Candidate("jwt", value, m.start(1), m.end(1), medium=True, note="expired (exp in the past)")
    note = "no exp claim: valid until the key is rotated" if exp is None else ""
    return Candidate("jwt", value, m.start(1), m.end(1), note=note)


_PEM_BODY = re.compile(rb"[A-Za-z0-9+/=]+")


def _private_key(m: re.Match[bytes], line: _Line) -> Candidate | None:
    kind = _text(m.group(1))
    tail = line.data[m.end() : m.end() + 16384]
    end = tail.find(b"-----END")
    body_raw = tail if end == -1 else tail[:end]
    body_raw = body_raw.replace(b"\\n", b"\n").replace(b"\\r", b"")
    encrypted = "ENCRYPTED" in kind or b"ENCRYPTED" in body_raw[:200]
    body = b"".join(
        _PEM_BODY.findall(b"\n".join(ln for ln in body_raw.splitlines() if b":" not in ln))
    )  # drop "Proc-Type: 4,ENCRYPTED" style headers
    if len(body) < 40 or b"..." in body_raw[:200] or _low_diversity(_text(body[:64])):
        return None
    detector = "private-key"
    if b'"private_key"' in line.data[line.start : m.start()] or (
        b"service_account" in line.data and b"private_key" in line.data[max(0, m.start() - 40) : m.start()]
    ):
        detector = "gcp-service-account"
    return Candidate(
        detector,
        _text(body),
        m.start(),
        m.end() + (len(tail) if end == -1 else end),
        medium=encrypted,
        note=f"{kind.lower()}" + (" (encrypted)" if encrypted else ""),
    )


STRUCTURED = (
    Detector(
        "jwt",
        (b"eyj",),
        (
            (
                re.compile(
                    rb"(?<![A-Za-z0-9_\-])(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
                    rb"(?![A-Za-z0-9_\-])"
                ),
                _jwt,
            ),
        ),
    ),
    Detector(
        "private-key",
        (b"private key-----", b"private key block-----"),
        (
            (
                re.compile(
                    rb"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 )?PRIVATE KEY(?: BLOCK)?)-----"
                ),
                _private_key,
            ),
        ),
    ),
)

# --- credentials in URIs -----------------------------------------------------------------------

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "[::1]", "host.docker.internal"})  # noqa: S104


def _uri(m: re.Match[bytes], line: _Line) -> Candidate | None:
    user = unquote(_text(m.group("user")))
    raw_pw = _text(m.group("pw"))
    pw = unquote(raw_pw)
    host = _text(m.group("host")).lower()
    if not pw or judge.is_placeholder(raw_pw) or judge.is_placeholder(pw) or judge.is_reference(pw):
        return None
    if any(t in raw_pw for t in ("${", "{{", "%(", "$(")) or re.search(r"\{[A-Za-z_]\w*\}", raw_pw):
        return None  # built from variables
    if raw_pw.startswith("$") and re.fullmatch(r"\$[A-Za-z_]\w*", raw_pw):
        return None
    if pw.lower() == user.lower():
        return None  # airflow:airflow@postgres, guest:guest@rabbitmq: a documented default, not a leak
    if host.startswith("${") or (host == "host" and pw.lower() in ("pass", "password")):
        return None
    scheme = _text(m.group("scheme")).lower()
    return Candidate("uri-credentials", pw, m.start("pw"), m.end("pw"), note=f"{scheme} URI for {host or 'no host'}")


URI = Detector(
    "uri-credentials",
    (b"://",),
    (
        (
            re.compile(
                rb"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{1,30})://(?P<user>[^\s:/?#@\"'<>\[\]{}\\]{0,256}):"
                rb"(?P<pw>[^\s/?#\"<>\\]{1,256})@(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+|\$\{|(?=[/?]))"
            ),
            _uri,
        ),
    ),
)

# --- generic assignments -----------------------------------------------------------------------

_PASSWORD_SUFFIXES = (
    "password",
    "passwd",
    "_pwd",
    "-pwd",
    ".pwd",
    "passphrase",
    "_pass",
    "-pass",
    ".pass",
    "_pw",
    "-pw",
)
_KEY_SUFFIXES = (
    "apikey",
    "api_key",
    "api-key",
    "api.key",
    "secret",
    "secret_key",
    "secretkey",
    "secret-key",
    "token",
    "access_key",
    "accesskey",
    "access-key",
    "auth_key",
    "authkey",
    "private_key",
    "privatekey",
    "client_secret",
    "clientsecret",
    "app_key",
    "appkey",
    "master_key",
    "signing_key",
    "encryption_key",
    "credentials",
    "credential",
    "auth",
    "api_secret",
    "apisecret",
    "secret_token",
    "access_token",
    "bearer",
)
_NOT_SECRET_TOKENS = re.compile(
    r"(?:^|[_\-.])(?:pad|eos|bos|unk|sep|cls|mask|start|end|special|max|min|num|n|first|last|next|prev|sos|eot|"
    r"image|audio|video|vision|default|decoder_start|split|new|ignore|stop|think|tool|system|user|assistant|"
    r"chat|bot|eom|fim|boa|boi|eoi|sot|byte|word|sub|control|placeholder)_?token$"
)


def classify_name(name: str) -> Literal["password", "key"] | None:
    """Is this variable / field name one that holds a password or an API key?"""
    raw = name.strip().strip("\"'`")
    key = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw).lower()
    if not key or len(key) > 80:
        return None
    if key in ("pass", "pw") or key.endswith(_PASSWORD_SUFFIXES):  # not "pwd": the working directory
        return "password"
    if key.endswith(_KEY_SUFFIXES):
        if key.endswith("token") and _NOT_SECRET_TOKENS.search(key):
            return None
        if key.endswith(("_id_token", "csrf_token", "next_token", "page_token", "continuation_token")):
            return None
        return "key"
    return None


_ASSIGN = re.compile(
    rb"(?<![\w.\-$])(?<!\$\{)(?P<key>[A-Za-z_][\w.\-]{0,79})(?P<kq>\\?[\"'`]?\]?)"
    rb"(?:\s*:\s*[A-Za-z_][\w.\[\]|, ]{0,40}?(?=\s*=))?"  # a type annotation: password: str = "..."
    rb"\s*(?P<op>:=|=>|=(?!=)|:(?![:/]))[ \t]*"
    rb"(?=(?P<val>\\\"(?:[^\"\\\n]|\\[^\"]){0,512}\\\"|\"(?:[^\"\\\n]|\\.){0,512}\"|'(?:[^'\\\n]|\\.){0,512}'"
    rb"|`[^`\n]{0,512}`"
    rb"|[^\s\"'`,;#)}\]]{1,512}))"  # a lookahead: the value may hold further assignments
)
_FLAG = re.compile(
    rb"(?<![\w\-])--(?P<key>[\w\-]{0,40}(?:password|passwd|token|secret|api[-_]?key)[\w\-]{0,20})"
    rb"(?:=|[ \t]+)(?P<val>\"[^\"\n]{1,512}\"|'[^'\n]{1,512}'|[^\s\"'`;|&]{1,512})"
)
_DOCKER_ENV = re.compile(rb"(?im)^[ \t]*(?:ENV|ARG)[ \t]+(?P<key>[A-Za-z_]\w{0,79})[ \t]+(?P<val>[^\s=][^\n]{0,512})$")
_NETRC = re.compile(rb"(?<![\w])(?P<key>password)[ \t]+(?P<val>[^\s]{1,512})")
_BASIC_AUTH = re.compile(
    rb"(?:\bauth\s*=\s*|HTTPBasicAuth\(\s*|BasicAuth\(\s*)\(?\s*[\"'][^\"'\n]{1,128}[\"']\s*,\s*"
    rb"(?P<val>\"[^\"\n]{1,512}\"|'[^'\n]{1,512}')"
)
_BEARER = re.compile(rb"(?i:\bbearer)[ \t]+(?P<val>[A-Za-z0-9\-._~+/]{16,512}=*)(?![A-Za-z0-9\-._~+/=])")


def _strip_value(raw: bytes, kind: Kind) -> tuple[str, bool] | None:
    """The literal of an assignment value and whether it was quoted; ``None`` when it is not a literal."""
    text = _text(raw).strip()
    if len(text) >= 4 and text.startswith('\\"') and text.endswith('\\"'):
        return text[2:-2], True  # a JSON string inside a JSON string: {"extra": "{\"token\": \"...\"}"}
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        inner = text[1:-1]
        if text[0] == "`":
            return None  # shell command substitution / template literal
        return inner.replace('\\"', '"').replace("\\'", "'"), True
    if kind == "code":
        return None  # unquoted in code: an expression (password=args.password), not a literal
    if text.startswith(("!", "&", "*", "|", ">")):
        return None  # YAML tags, anchors, aliases, block scalars
    return text, False


def judge_assignment(name: str, value: str) -> Literal["password", "key"] | None:
    """Would ``name = value`` be a literal secret? Shared with the environment check."""
    kind = classify_name(name)
    if kind == "password":
        return "password" if judge.is_plausible_password(value) else None
    if kind == "key":
        if judge.is_digest_like(value) and not re.search(r"(?:api|secret|access|auth)", name.lower()):
            return None  # cache_token = "<sha256>": a digest under a token-ish name
        if re.fullmatch(r"[0-9a-fA-F]{1,31}", value):
            return None  # short hex: an id or a truncated hash, not a key
        return "key" if judge.looks_random(value, min_length=12, min_entropy=3.0) else None
    return None


def _assignment(m: re.Match[bytes], line: _Line) -> Candidate | None:
    before = _text(line.data[line.start : m.start("key")])
    before = re.sub(r"(?:os\.)?environ\[\s*[\"']?$", "", before)  # os.environ["X"] = "literal" is a literal
    if judge.is_reference(before):
        return None  # the key sits inside a secret-store reference (arn:aws:secretsmanager:...:secret:...)
    name = _text(m.group("key"))
    parsed = _strip_value(m.group("val"), line.kind)
    if parsed is None:
        return None
    value, quoted = parsed
    if name.lower() in ("pass", "pw") and m.group("op") == b":" and not quoted and value.isalpha() and value.islower():
        return None  # English prose ("so their pickles pass: constructing one..."), not a credential
    verdict = judge_assignment(name, value)
    if verdict is None:
        return None
    detector = "password-assignment" if verdict == "password" else "api-key-assignment"
    return Candidate(detector, value, m.start("val"), m.end("val"), note=f"assigned to {name}")


def _netrc(m: re.Match[bytes], line: _Line) -> Candidate | None:
    if line.kind != "netrc":
        return None
    value = _text(m.group("val"))
    if not judge.is_plausible_password(value):
        return None
    return Candidate("password-assignment", value, m.start("val"), m.end("val"), note="netrc password")


def _basic_auth(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group("val"))[1:-1]
    if not judge.is_plausible_password(value):
        return None
    return Candidate("password-assignment", value, m.start("val") + 1, m.end("val") - 1, note="basic-auth password")


def _flag(m: re.Match[bytes], line: _Line) -> Candidate | None:
    if line.kind == "code":
        return None
    return _assignment(m, line)


def _bearer(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group("val"))
    if not judge.looks_random(value, min_length=16, min_entropy=3.3):
        return None
    return Candidate("api-key-assignment", value, m.start("val"), m.end("val"), note="bearer token")


GENERIC = (
    Detector(
        "password-assignment",
        (b"pass", b"pwd", b"_pw", b"auth"),
        (
            (_ASSIGN, _assignment),
            (_FLAG, _flag),
            (_DOCKER_ENV, _assignment),
            (_NETRC, _netrc),
            (_BASIC_AUTH, _basic_auth),
        ),
        generic=True,
    ),
    Detector(
        "api-key-assignment",
        (b"key", b"token", b"secret", b"auth", b"credential", b"bearer"),
        ((_ASSIGN, _assignment), (_FLAG, _flag), (_DOCKER_ENV, _assignment), (_BEARER, _bearer)),
        generic=True,
    ),
)

# --- entropy, only with context ----------------------------------------------------------------

_ENTROPY_TOKEN = re.compile(rb"(?<![A-Za-z0-9+/=_\-.~])([A-Za-z0-9+/_\-.~]{24,256}={0,2})(?![A-Za-z0-9+/=_\-.~])")
_CONTEXT = re.compile(rb"(?i)secret|token|passw|credential|api[_\-.]?key|access[_\-.]?key|private|auth|signature")
_DIGEST_PREFIX = re.compile(
    rb"(?i)(?:sha(?:1|224|256|384|512)|md5|blake2b?|hash|digest|integrity|checksum|etag)[\W_]*$"
)


def _entropy(m: re.Match[bytes], line: _Line) -> Candidate | None:
    value = _text(m.group(1))
    before = line.data[max(line.start, m.start(1) - 24) : m.start(1)]
    if _DIGEST_PREFIX.search(before) or b"@sha256:" in before or b"data:" in before:
        return None
    if judge.is_digest_like(value) or re.fullmatch(r"[0-9a-fA-F\-]+", value):
        return None  # digests, run ids, UUIDs
    if value.startswith(("iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "PD94bWwg", "PHN2Zy")):
        return None  # base64 images / XML / SVG
    if "/" in value and re.fullmatch(r"[\w.\-]+(?:/[\w.\-]+)+", value) and value.count("/") >= 2:
        return None  # a path
    if judge.char_classes(value) < 3 or not judge.looks_random(value, min_length=24, min_entropy=4.0):
        return None
    if not _CONTEXT.search(line.data[line.start : line.end]):
        return None
    return Candidate("high-entropy-secondary", value, m.start(1), m.end(1), medium=True)


ENTROPY = Detector(
    "high-entropy-secondary",
    (b"secret", b"token", b"passw", b"credential", b"key", b"private", b"auth", b"signature"),
    ((_ENTROPY_TOKEN, _entropy),),
    generic=True,
)

DETECTORS: tuple[Detector, ...] = (*AWS, *PREFIXED, *ML_PLATFORMS, *STRUCTURED, URI, *GENERIC, ENTROPY)
"""Order matters: specific detectors claim bytes first; generic ones only fill the gaps."""

_LONG_LINE = 8192
_WINDOW = 1024


def _candidate_spans(data: bytes, lowered: bytes, anchors: Iterable[bytes], extra: int) -> list[tuple[int, int]]:
    """Lines (or, inside very long lines, windows) containing any anchor."""
    spans: set[tuple[int, int]] = set()
    size = len(data)
    for anchor in anchors:
        i = lowered.find(anchor)
        while i != -1:
            ls = data.rfind(b"\n", 0, i) + 1
            le = data.find(b"\n", i)
            if le == -1:
                le = size
            if le - ls > _LONG_LINE:  # minified JSON, notebook blobs: look around the anchor only
                ws, we = max(ls, i - _WINDOW), min(le, i + _WINDOW)
                spans.add((ws, min(size, we + extra)))
                i = lowered.find(anchor, i + len(anchor))
            else:
                spans.add((ls, min(size, le + extra)))
                i = lowered.find(anchor, le)
    return sorted(spans)


def scan_buffer(data: bytes, kind: Kind = "text", detectors: Iterable[Detector] = DETECTORS) -> list[Candidate]:
    """Every secret candidate in ``data``, specific detectors first, generic ones only on unclaimed bytes.

    Assignments whose value continues on the next line(s) (YAML block scalars, triple-quoted and
    parenthesised strings, backslash continuations) are then judged as one logical line each.
    """
    detectors = tuple(detectors)
    lowered = data.lower()
    found = _scan_lines(data, kind, detectors, lowered)
    anchors = tuple(dict.fromkeys(a for det in detectors for a in det.anchors))
    if kind == "netrc" or not any(a in lowered for a in anchors):
        return found  # a synthetic line is made of this buffer's bytes: without an anchor it cannot match
    extra: list[Candidate] = []
    for logical in multiline.logical_lines(data, kind):
        for cand in _scan_lines(logical.text, kind, detectors):
            overlapping = [c for c in (*found, *extra) if c.start < logical.end and logical.start < c.end]
            if overlapping and not all(c.value != cand.value and c.value in cand.value for c in overlapping):
                continue  # the line-by-line pass already reported this span
            if not overlapping and any(c.value == cand.value for c in found):
                continue
            # a fragment found on one line (the first half of a split literal) gives way to the whole value
            found = [c for c in found if c not in overlapping]
            extra = [c for c in extra if c not in overlapping]
            extra.append(Candidate(cand.detector, cand.value, logical.start, logical.end, cand.medium, cand.note))
    if not extra:
        return found
    return sorted((*found, *extra), key=lambda c: c.start)


def _scan_lines(
    data: bytes, kind: Kind, detectors: tuple[Detector, ...], lowered: bytes | None = None
) -> list[Candidate]:
    if lowered is None:
        lowered = data.lower()
    found: list[Candidate] = []
    claimed: list[tuple[int, int]] = []
    for det in detectors:
        if not any(a in lowered for a in det.anchors):
            continue
        for start, end in _candidate_spans(data, lowered, det.anchors, det.window):
            line = _Line(data, start, end, kind)
            for regex, judge_fn in det.patterns:
                for m in regex.finditer(data, start, end):
                    cand = judge_fn(m, line)
                    if cand is None:
                        continue
                    if any(cand.start < ce and cs < cand.end for cs, ce in claimed):
                        continue
                    if any(c.start == cand.start and c.value == cand.value for c in found):
                        continue
                    found.append(cand)
                    claimed.append((cand.start, cand.end))
    found.sort(key=lambda c: c.start)
    return found


SPECIFIC: tuple[Detector, ...] = tuple(d for d in DETECTORS if not d.generic)


def scan_value(name: str, value: str) -> list[Candidate]:
    """Judge one name/value pair (an environment variable, a Secret key, a hyperparameter).

    The value is scanned with the specific detectors; failing those, the name decides whether
    a generic password / API-key judgement applies.
    """
    found = scan_buffer(value.encode("utf-8", "surrogateescape"), "text")
    specific = [c for c in found if c.detector not in ("password-assignment", "api-key-assignment")]
    if specific:
        return specific
    verdict = judge_assignment(name, value)
    if verdict is not None:
        detector = "password-assignment" if verdict == "password" else "api-key-assignment"
        return [Candidate(detector, value, 0, len(value), note=f"assigned to {name}")]
    return [c for c in found if c.detector != "high-entropy-secondary"]

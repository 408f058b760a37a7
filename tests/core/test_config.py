from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pytest_mlsec.config import ConfigError, load_config, require_reasoned_entries
from pytest_mlsec.findings import Location, Severity
from pytest_mlsec.rules import Rule

RULE = Rule(id="MLSEC-TST-001", name="t", severity=Severity.MEDIUM, short="s")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "pyproject.toml",
        """
[tool.mlsec]
fail_on = "medium"
[tool.mlsec.targets]
scan = ["models/"]
deps = "requirements.txt"
[tool.mlsec.scan]
policy = "strict"
[[tool.mlsec.suppress]]
rule = "MLSEC-PKL-*"
path = "legacy/*"
reason = "legacy models are isolated"
expires = 2099-01-01
""",
    )
    cfg = load_config(path)
    assert cfg.fail_on is Severity.MEDIUM
    assert cfg.targets == {"scan": ("models/",), "deps": ("requirements.txt",)}
    assert cfg.options_for("scan") == {"policy": "strict"}
    (s,) = cfg.suppressions
    assert s.expires == dt.date(2099, 1, 1)
    assert cfg.source == str(path)


def test_config_is_discovered_upwards(tmp_path: Path) -> None:
    write(tmp_path, "mlsec.toml", 'fail_on = "low"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    cfg = load_config(start=sub)
    assert cfg.fail_on is Severity.LOW
    assert cfg.source
    assert cfg.source.endswith("mlsec.toml")


def test_pyproject_without_mlsec_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname='x'\n")
    (tmp_path / ".git").mkdir()
    assert load_config(start=tmp_path).source is None


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('fail_on = "severe"', "fail_on", "unknown severity"),
        ("[[suppress]]\nrule = 'MLSEC-X-001'", "suppress[0]", "needs a non-empty 'reason'"),
        ("[[suppress]]\nrule = 'MLSEC-X-001'\nreason='r'\nexpires='soon'", "suppress[0]", "'expires' must be a date"),
        ("[[suppress]]\nreason='r'", "suppress[0]", "needs 'rule'"),
        ("[[suppress]]\nrule='R'\nreason='r'\ncolour='red'", "suppress[0]", "unknown keys: colour"),
        ("targets = 3", "targets", "must be a table"),
        ("bogus = 1", "bogus", "unknown setting"),
        ("fail_on = ", "", "invalid TOML"),
    ],
)
def test_broken_config_names_file_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, "mlsec.toml", text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(path) in str(info.value)


def test_unreadable_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "mlsec.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(bad)


def test_suppression_matching(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "mlsec.toml",
            "[[suppress]]\nrule='MLSEC-TST-*'\npath='models/legacy'\nreason='r'\n",
        )
    )
    (s,) = cfg.suppressions
    assert s.matches(RULE.finding(Location(path="models/legacy/a.pkl"), "m"))
    assert s.matches(RULE.finding(Location(path="./models/legacy"), "m"))
    assert not s.matches(RULE.finding(Location(path="models/new/a.pkl"), "m"))


def test_reasoned_entries() -> None:
    assert require_reasoned_entries([{"name": "a.B", "reason": "ok"}], source="f", key="k") == [("a.B", "ok")]
    with pytest.raises(ConfigError, match=r"'a\.B' needs a non-empty 'reason'"):
        require_reasoned_entries([{"name": "a.B"}], source="f", key="k")
    with pytest.raises(ConfigError, match="must be an array"):
        require_reasoned_entries("a.B", source="f", key="k")

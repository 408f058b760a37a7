"""The files users copy from this repository (pre-commit hooks, README commands) stay true."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pytest_mlsec.checks import BUILTIN_CHECKS, BUILTIN_COMMANDS, registry

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hooks_call_real_subcommands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} >= {"mlsec-scan", "mlsec-deps", "mlsec-secrets"}
    for hook in hooks:
        program, subcommand = hook["entry"].split()[:2]
        assert program == "mlsec"
        assert subcommand in BUILTIN_CHECKS
        assert hook["language"] == "python"


def test_every_mlsec_command_in_the_readme_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = "\n".join(line for line in readme.splitlines() if "finding(s)" not in line)  # not output lines
    used = set(re.findall(r"^\s*mlsec ([a-z]+)", commands, flags=re.MULTILINE))
    known = set(BUILTIN_CHECKS) | set(BUILTIN_COMMANDS) | {"rules"}
    assert used, "the README shows no mlsec command"
    assert used <= known, used - known
    for name in used & set(BUILTIN_CHECKS):
        registry().check(name)  # importable and registered


def test_the_two_set_up_commands_are_the_ones_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bash scripts/demo.sh" in readme
    assert "bash scripts/test.sh" in readme
    assert "exec bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()

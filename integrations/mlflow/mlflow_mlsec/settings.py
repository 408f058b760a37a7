"""Gate settings: environment variables first, then ``[tool.mlsec.mlflow]`` in ``MLSEC_CONFIG``.

The registry store is built by MLflow from a URI, so there is no place to pass Python
arguments: configuration comes from the server's environment. Everything has a safe
default (scan every version, refuse at ``high``, gate every alias and active stage), so
``--registry-store-uri mlsec+sqlite:///mlflow.db`` alone is a working gate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_mlsec.config import Config, load_config
from pytest_mlsec.findings import Severity

KNOWN_CHECKS = ("scan", "integrity", "secrets")
DEFAULT_GATED_STAGES = ("staging", "production")

ENV_CONFIG = "MLSEC_CONFIG"
ENV_CHECKS = "MLSEC_MLFLOW_CHECKS"
ENV_FAIL_ON = "MLSEC_MLFLOW_FAIL_ON"
ENV_AUDIT_LOG = "MLSEC_AUDIT_LOG"
ENV_ALIASES = "MLSEC_MLFLOW_GATED_ALIASES"
ENV_STAGES = "MLSEC_MLFLOW_GATED_STAGES"
ENV_REQUIRE_VERDICT = "MLSEC_MLFLOW_REQUIRE_VERDICT"
ENV_ORPHAN_WINDOW = "MLSEC_MLFLOW_ORPHAN_WINDOW"
ENV_ALGORITHM = "MLSEC_MLFLOW_MANIFEST_ALGORITHM"
ENV_SIGNATURE_FILE = "MLSEC_MLFLOW_SIGNATURE_FILE"
ENV_MANIFEST_FILE = "MLSEC_MLFLOW_MANIFEST_FILE"


class SettingsError(ValueError):
    """A gate setting is invalid; the message names the variable and the accepted values."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _truthy(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={value!r}: expected true or false")


def _fastest_algorithm() -> str:
    """BLAKE3 (multi-threaded, several GB/s) when installed, else SHA-256: the manifest is on the
    registration path, and for header-only formats such as safetensors it dominates the gate's cost."""
    import importlib.util

    return "blake3" if importlib.util.find_spec("blake3") is not None else "sha256"


@dataclass(frozen=True)
class GateSettings:
    """What the gate enforces. Built once per store; cheap to rebuild in tests."""

    checks: tuple[str, ...] = ("scan",)
    fail_on: Severity = Severity.HIGH
    config: Config = field(default_factory=Config)
    audit_log: Path | None = None
    gated_aliases: tuple[str, ...] = ("*",)
    gated_stages: tuple[str, ...] = DEFAULT_GATED_STAGES
    require_verdict: bool = True
    orphan_window_s: float = 60.0
    manifest_algorithm: str = "sha256"
    signature_file: str = "model.sig"
    manifest_file: str = "mlsec-manifest.json"

    def alias_is_gated(self, alias: str) -> bool:
        import fnmatch

        return any(fnmatch.fnmatchcase(alias, pattern) for pattern in self.gated_aliases)

    def stage_is_gated(self, stage: str) -> bool:
        return stage.strip().lower() in self.gated_stages

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, default_audit_dir: Path | None = None
    ) -> GateSettings:
        """Read the settings; ``default_audit_dir`` is where the audit log goes when unset."""
        env = os.environ if environ is None else environ
        config_path = env.get(ENV_CONFIG)
        config = load_config(config_path) if config_path else Config()
        table: Mapping[str, Any] = config.options_for("mlflow")

        def pick(env_name: str, key: str) -> str | None:
            if env.get(env_name):
                return env[env_name]
            value = table.get(key)
            if value is None:
                return None
            if isinstance(value, (list, tuple)):
                return ",".join(str(v) for v in value)
            return str(value)

        checks = _split(pick(ENV_CHECKS, "checks") or "scan")
        unknown = [c for c in checks if c not in KNOWN_CHECKS]
        if unknown or not checks:
            raise SettingsError(
                f"{ENV_CHECKS}: unknown check(s) {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(KNOWN_CHECKS)}"
            )
        fail_on_text = pick(ENV_FAIL_ON, "fail_on")
        try:
            fail_on = Severity.parse(fail_on_text) if fail_on_text else config.fail_on
        except ValueError as exc:
            raise SettingsError(f"{ENV_FAIL_ON}: {exc}") from None
        audit_text = pick(ENV_AUDIT_LOG, "audit_log")
        if audit_text:
            audit_log: Path | None = Path(audit_text).expanduser()
        elif default_audit_dir is not None:
            audit_log = default_audit_dir / "mlsec-audit.jsonl"
        else:
            audit_log = Path.cwd() / "mlsec-audit.jsonl"
        window_text = pick(ENV_ORPHAN_WINDOW, "orphan_window_seconds") or "60"
        try:
            window = float(window_text)
        except ValueError:
            raise SettingsError(f"{ENV_ORPHAN_WINDOW}={window_text!r}: expected a number of seconds") from None
        algorithm = (pick(ENV_ALGORITHM, "manifest_algorithm") or "auto").strip().lower()
        if algorithm == "auto":
            algorithm = _fastest_algorithm()
        elif algorithm not in ("sha256", "blake3"):
            raise SettingsError(f"{ENV_ALGORITHM}={algorithm!r}: expected auto, sha256 or blake3")
        return cls(
            checks=checks,
            fail_on=fail_on,
            config=config,
            audit_log=audit_log,
            gated_aliases=_split(pick(ENV_ALIASES, "gated_aliases") or "*"),
            gated_stages=tuple(s.lower() for s in _split(pick(ENV_STAGES, "gated_stages") or "staging,production")),
            require_verdict=_truthy(ENV_REQUIRE_VERDICT, pick(ENV_REQUIRE_VERDICT, "require_verdict") or "true"),
            orphan_window_s=window,
            manifest_algorithm=algorithm,
            signature_file=pick(ENV_SIGNATURE_FILE, "signature_file") or "model.sig",
            manifest_file=pick(ENV_MANIFEST_FILE, "manifest_file") or "mlsec-manifest.json",
        )

"""Folder-level findings: what a loader does with a model *folder*, beyond its individual files.

Hugging Face: ``config.json`` ``auto_map`` or bundled ``.py`` files mean ``trust_remote_code`` is
needed, i.e. loading imports code from the folder. MLflow: the ``MLmodel`` file says how the model
is deserialized (pickle, cloudpickle, skops with trusted types, a pickled ``python_model``).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any

from pytest_mlsec.artifacts import rules as R
from pytest_mlsec.artifacts.base import ScanOptions
from pytest_mlsec.artifacts.chat_templates import folder_template_findings
from pytest_mlsec.findings import Finding, Location

_MAX_CONFIG = 4 << 20


def folder_findings(root: str, files: list[str], options: ScanOptions) -> list[Finding]:
    """Findings about model folders under ``root``; ``files`` are the displayed paths of its files."""
    by_dir: dict[str, list[str]] = defaultdict(list)
    for display in files:
        by_dir[os.path.dirname(display)].append(display)
    findings: list[Finding] = []
    for directory, members in sorted(by_dir.items()):
        names = {os.path.basename(m): m for m in members}
        if "config.json" in names:
            findings.extend(_huggingface(names, directory))
        if "MLmodel" in names:
            findings.extend(_mlflow(names, directory))
        findings.extend(folder_template_findings(directory, names))
    return findings


def _read_json(path: str) -> Any:
    try:
        if os.path.getsize(path) > _MAX_CONFIG:
            return None
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError, RecursionError):
        return None


def _huggingface(names: dict[str, str], directory: str) -> list[Finding]:
    config_path = names["config.json"]
    config = _read_json(config_path)
    findings: list[Finding] = []
    is_model = isinstance(config, dict) and any(k in config for k in ("model_type", "architectures", "auto_map"))
    if not is_model:
        return findings
    auto_map = config.get("auto_map") if isinstance(config, dict) else None
    code_files = sorted(n for n in names if n.endswith(".py"))
    for extra in ("tokenizer_config.json", "processor_config.json", "preprocessor_config.json"):
        cfg = _read_json(names[extra]) if extra in names else None
        if isinstance(cfg, dict) and cfg.get("auto_map") and not auto_map:
            auto_map = cfg.get("auto_map")
    if auto_map or code_files:
        refs = sorted(str(v) for v in auto_map.values())[:10] if isinstance(auto_map, dict) else []
        findings.append(
            R.FMT_REMOTE_CODE.finding(
                Location(path=config_path),
                "Hugging Face model folder requires trust_remote_code: "
                + (f"config auto_map points to {', '.join(refs)}" if refs else "auto_map is set" if auto_map else "")
                + ("; " if auto_map and code_files else "")
                + (f"bundled Python files: {', '.join(code_files[:10])}" if code_files else ""),
                evidence={"auto_map": refs, "python_files": code_files[:50], "folder": directory or "."},
                key="trust_remote_code",
            )
        )
    return findings


def _mlflow(names: dict[str, str], directory: str) -> list[Finding]:
    import yaml

    path = names["MLmodel"]
    location = Location(path=path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_CONFIG + 1)
        if len(raw) > _MAX_CONFIG:
            raise ValueError("MLmodel file is larger than 4 MiB")
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        doc = yaml.load(raw, Loader=loader)  # noqa: S506 - a safe loader, chosen explicitly
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return [R.FMT_MLMODEL_BAD.finding(location, f"MLmodel could not be parsed safely: {exc}", key="mlmodel")]
    if not isinstance(doc, dict):
        return [R.FMT_MLMODEL_BAD.finding(location, "MLmodel is not a mapping", key="mlmodel")]
    findings: list[Finding] = []
    raw_flavors = doc.get("flavors")
    flavors: dict[str, Any] = raw_flavors if isinstance(raw_flavors, dict) else {}
    for flavor_name, flavor in flavors.items():
        if not isinstance(flavor, dict):
            continue
        fmt = str(flavor.get("serialization_format", "")).lower()
        if fmt in ("pickle", "cloudpickle"):
            findings.append(
                R.FMT_MLFLOW_PICKLE.finding(
                    location,
                    f"MLflow flavour {flavor_name!r} is serialized with {fmt}: loading the model unpickles "
                    f"{flavor.get('pickled_model', 'its model file')}",
                    evidence={"flavor": flavor_name, "serialization_format": fmt},
                    key=f"{flavor_name}:{fmt}",
                )
            )
        trusted = flavor.get("skops_trusted_types")
        if fmt == "skops" and trusted:
            types = [str(t) for t in trusted] if isinstance(trusted, list) else [str(trusted)]
            findings.append(
                R.FMT_SKOPS_TRUSTED.finding(
                    location,
                    f"skops flavour {flavor_name!r} trusts {len(types)} type(s): {', '.join(types[:10])}",
                    evidence={"flavor": flavor_name, "trusted_types": types[:50]},
                    key=f"{flavor_name}:skops",
                )
            )
        if flavor_name == "python_function" and (flavor.get("python_model") or "cloudpickle_version" in flavor):
            findings.append(
                R.FMT_MLFLOW_PICKLE.finding(
                    location,
                    f"pyfunc model stores a pickled python_model ({flavor.get('python_model', 'python_model.pkl')}); "
                    "mlflow.pyfunc.load_model unpickles it with cloudpickle",
                    evidence={"flavor": flavor_name, "python_model": str(flavor.get("python_model", ""))},
                    key="python_model",
                )
            )
    if "python_model.pkl" in names and not any(f.key == "python_model" for f in findings):
        findings.append(
            R.FMT_MLFLOW_PICKLE.finding(
                Location(path=names["python_model.pkl"]),
                "MLflow folder contains python_model.pkl, which mlflow.pyfunc.load_model unpickles",
                key="python_model",
            )
        )
    return findings

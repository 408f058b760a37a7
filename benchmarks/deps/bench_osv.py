"""Vulnerability lookup of 150 pins against the local OSV stub: requests made and wall time.

Ours (pytest_mlsec.deps.osv.OsvBatchService via the check) against pip-audit's own
OsvService (one POST /v1/query per package), same stub, same 150 pins, cold and warm cache.

    .venv/bin/python benchmarks/deps/bench_osv.py benchmarks/deps/requirements-150.txt
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from packaging.version import Version  # noqa: E402
from pip_audit._service.interface import ResolvedDependency  # noqa: E402
from pip_audit._service.osv import OsvService  # noqa: E402

from pytest_mlsec.deps import scan  # noqa: E402
from tests.deps.osv_stub import OsvStub  # noqa: E402

SEEDED = {
    "pillow": "10.3.0",
    "requests": "2.32.3",
    "torch": "2.3.1",
    "transformers": "4.41.2",
    "mlflow": "2.14.1",
    "jinja2": "3.1.4",
    "urllib3": "2.2.2",
    "aiohttp": "3.9.5",
    "gunicorn": "22.0.0",
    "tqdm": "4.66.4",
}


def main(path: str) -> None:
    stub = OsvStub().start()
    try:
        for i, (name, version) in enumerate(SEEDED.items()):
            stub.add(f"GHSA-bench-{i}", name, [version], fixed="99.0", severity="HIGH")
        with tempfile.TemporaryDirectory() as cache:
            for label in ("cold cache", "warm cache"):
                before = sum(stub.requests.values())
                started = time.perf_counter()
                outcome = scan.run([path], {"vulns": True, "osv_url": stub.url, "cache_dir": cache})
                elapsed = time.perf_counter() - started
                found = [f for f in outcome.findings if f.rule_id == "MLSEC-VUL-001"]
                print(
                    f"pytest-mlsec ({label}): {sum(stub.requests.values()) - before} requests "
                    f"(querybatch={stub.requests['/v1/querybatch']}), {len(found)} vulnerabilities, "
                    f"{elapsed * 1000:.0f} ms (parse + rules + lookup)"
                )
        pins = [line.split(" ")[0] for line in Path(path).read_text().splitlines() if "==" in line]
        deps = [ResolvedDependency(name=p.split("==")[0], version=Version(p.split("==")[1])) for p in pins]
        with tempfile.TemporaryDirectory() as cache:
            service = OsvService(cache_dir=Path(cache), osv_url=f"{stub.url}/v1/query")
            before = stub.requests["/v1/query"]
            started = time.perf_counter()
            results = list(service.query_all(iter(deps)))
            elapsed = time.perf_counter() - started
            vulnerable = sum(1 for _, r in results if r)
            print(
                f"pip-audit OsvService: {stub.requests['/v1/query'] - before} requests, "
                f"{vulnerable} vulnerable packages, {elapsed * 1000:.0f} ms (lookup only)"
            )
    finally:
        stub.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("requirements-150.txt")))

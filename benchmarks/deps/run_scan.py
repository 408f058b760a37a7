"""Parse + pin rules on one target without the CLI (the library path an assert_pinned_deps call takes).

.venv/bin/python benchmarks/deps/run_scan.py benchmarks/deps/requirements-150.txt
"""

from __future__ import annotations

import sys

from pytest_mlsec.deps import scan

if __name__ == "__main__":
    outcome = scan.run(sys.argv[1:], {})
    sys.exit(1 if outcome.findings else 0)

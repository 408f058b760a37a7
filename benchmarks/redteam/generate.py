"""Build the whole red-team corpus into benchmarks/data/redteam/ (gitignored).

Usage: .venv/bin/python benchmarks/redteam/generate.py [scan iam deps secrets code]
Then:  .venv/bin/python benchmarks/redteam/evaluate.py
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA

GENERATORS = {"scan": "gen_scan", "iam": "gen_iam", "deps": "gen_deps", "secrets": "gen_secrets", "code": "gen_code"}


def main(argv: list[str]) -> None:
    for check in argv or list(GENERATORS):
        shutil.rmtree(DATA / check, ignore_errors=True)
        importlib.import_module(GENERATORS[check]).main()


if __name__ == "__main__":
    main(sys.argv[1:])

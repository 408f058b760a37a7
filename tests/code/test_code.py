"""AST hazard rules: every fixture line marked `expect: RULE` is found, every `safe` twin is not."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_mlsec.code.api import assert_safe_ml_code
from pytest_mlsec.code.rules import RULES
from pytest_mlsec.code.scan import scan_file, scan_source
from pytest_mlsec.engine import MLSecViolation, run_check

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = re.compile(r"expect: (MLSEC-CODE-\d{3})")


def expectations(path: Path) -> tuple[list[tuple[int, str]], list[int]]:
    expected, safe = [], []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if m := EXPECT.search(line):
            expected.append((number, m.group(1)))
        elif line.rstrip().endswith("# safe"):
            safe.append(number)
    return expected, safe


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.stem)
def test_fixture(fixture: Path) -> None:
    expected, safe = expectations(fixture)
    assert expected
    assert safe
    findings = scan_file(fixture, str(fixture))
    got = sorted((f.location.line or 0, f.rule_id) for f in findings)
    assert got == sorted(expected)
    assert not {f.location.line for f in findings} & set(safe)


def test_every_hazard_rule_has_a_fixture_and_a_safe_twin() -> None:
    covered = {rule for path in FIXTURES.glob("*.py") for _, rule in expectations(path)[0]}
    hazard_rules = {r.id for r in RULES if r.name != "code-unparseable"}
    assert covered == hazard_rules


def test_location_column_key_and_remediation() -> None:
    source = "import torch as t\n\nx = 1\nmodel = t.load('m.pt', weights_only=False)\n"
    [f] = scan_source(source, "train.py")
    assert (f.location.path, f.location.line, f.location.column) == ("train.py", 4, 9)
    assert f.key == "torch.load:false"
    assert "weights_only=True" in f.remediation
    assert f.evidence["call"] == "torch.load"
    moved = scan_source("\n\n" + source, "train.py")[0]
    assert moved.fingerprint == f.fingerprint  # stable across line moves


def test_aliases_do_not_leak_between_unrelated_names() -> None:
    assert scan_source("def load(p):\n    return p\nload('x')\n", "a.py") == []
    assert scan_source("class Cache:\n    def load(self): ...\nCache().load()\n", "a.py") == []
    assert scan_source("import mylib\nmylib.load('m.pt')\n", "a.py") == []


def test_syntax_error_fails_closed_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import torch\n\ndef f(:\n    pass\n")
    [f] = scan_file(path, "broken.py")
    assert f.rule_id == "MLSEC-CODE-090"
    assert f.location.line == 3
    assert "syntax error" in f.message


def test_non_utf8_and_null_bytes_fail_closed(tmp_path: Path) -> None:
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    for name in ("latin.py", "nul.py"):
        [f] = scan_file(tmp_path / name, name)
        assert f.rule_id == "MLSEC-CODE-090"


def test_deeply_nested_source_fails_closed() -> None:
    findings = scan_source("x = " + "(" * 5000 + ")" * 5000 + "\n", "deep.py")
    assert [f.rule_id for f in findings] == ["MLSEC-CODE-090"]


def _nb(cells: list[dict[str, object]]) -> str:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_notebook_cells_with_magics(tmp_path: Path) -> None:
    nb = _nb(
        [
            {"cell_type": "markdown", "source": ["torch.load('x')"]},
            {"cell_type": "code", "source": ["%pip install torch\n", "!ls\n", "import torch\n"], "outputs": []},
            {"cell_type": "code", "source": ["%%bash\n", "echo 'torch.load(x)'\n"], "outputs": []},
            {"cell_type": "code", "source": ["m = torch.load('m.pt')\n", "await asyncio.sleep(0)\n"], "outputs": []},
            {"cell_type": "code", "source": ["safe = torch.load('m.pt', weights_only=True)\n"], "outputs": []},
        ]
    )
    path = tmp_path / "explore.ipynb"
    path.write_text(json.dumps(json.loads(nb), indent=1))
    [f] = scan_file(path, "explore.ipynb")
    assert f.rule_id == "MLSEC-CODE-001"
    assert f.evidence["where"] == "cell 3, line 1"
    assert f.location.line is not None
    assert "m = torch.load('m.pt')" in path.read_text().splitlines()[f.location.line - 1]


def test_notebook_broken_json_and_broken_cell(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").write_text("{not json")
    (tmp_path / "b.ipynb").write_text(_nb([{"cell_type": "code", "source": "def (:", "outputs": []}]))
    assert [f.rule_id for f in scan_file(tmp_path / "a.ipynb", "a.ipynb")] == ["MLSEC-CODE-090"]
    [f] = scan_file(tmp_path / "b.ipynb", "b.ipynb")
    assert "cell 0" in f.message


def test_directory_walk_and_assertion(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "ok.py").write_text("import yaml\nyaml.safe_load('a: 1')\n")
    (tmp_path / "README.md").write_text("torch.load(x)")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_text("import pickle\npickle.loads(b'')\n")
    report = assert_safe_ml_code(tmp_path)
    assert report.findings == ()
    assert report.metadata["python_files"] == 1
    (tmp_path / "src" / "bad.py").write_text("import joblib\nclf = joblib.load('clf.joblib')\n")
    with pytest.raises(MLSecViolation, match="MLSEC-CODE-002"):
        assert_safe_ml_code(tmp_path)


def test_missing_target() -> None:
    report = run_check("code", ["/nonexistent/train.py"])
    assert [f.rule_id for f in report.findings] == ["MLSEC-CORE-002"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    for f in scan_source(text, "fuzz.py"):
        assert f.rule_id.startswith("MLSEC-CODE-")


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ndef f(a):\n    torch.load('m.pt', weights_only=a.flag)\n",
        "from transformers import AutoModel\ndef f(a):\n"
        "    AutoModel.from_pretrained('o/m', trust_remote_code=a.trc, revision='" + "0" * 40 + "')\n",
        "import numpy as np\ndef f(a):\n    np.load('a.npy', allow_pickle=a.flag)\n",
        "import torch\ndef f(kw):\n    torch.load('m.pt', **kw)\n",
    ],
)
def test_unprovable_flags_fail_closed_at_high(source: str) -> None:
    [f] = scan_source(source, "train.py")
    assert f.severity.name == "HIGH"
    assert "could not prove" in f.message


def test_constant_resolution_is_per_scope_and_ignores_rebound_names() -> None:
    source = (
        "import torch\nFLAG = False\ndef f():\n    FLAG = True\n    torch.load('m.pt', weights_only=FLAG)\n"
        "X = True\nX = False\ntorch.load('m.pt', weights_only=X)\n"
    )
    [f] = scan_source(source, "train.py")
    assert (f.location.line, f.key) == (8, "torch.load:dynamic")  # X is bound twice: unknown, not guessed


def test_self_referencing_bindings_do_not_loop() -> None:
    source = "import torch\na = b\nb = a\nc = getattr(c, 'load')\nc('m.pt')\ntorch.load('m.pt', weights_only=a)\n"
    keys = sorted(f.key for f in scan_source(source, "train.py"))
    assert keys == ["torch.load:dynamic"]

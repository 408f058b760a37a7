"""Allow-list first: publicly reported deny-list bypasses all fail, vetted globals pass."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from pytest_mlsec.artifacts import policy
from tests.artifacts import asm
from tests.artifacts.conftest import analyze, blocking, keys, rule_ids

# (module, name, expected rule) -- callables that slipped past deny-list scanners at some point
BYPASSES = [
    ("runpy", "_run_code", "MLSEC-PKL-001"),
    ("runpy", "run_path", "MLSEC-PKL-001"),
    ("pkgutil", "resolve_name", "MLSEC-PKL-002"),
    ("code", "InteractiveInterpreter", "MLSEC-PKL-001"),
    ("code", "interact", "MLSEC-PKL-001"),
    ("torch.hub", "load", "MLSEC-PKL-004"),
    ("cProfile", "run", "MLSEC-PKL-001"),
    ("profile", "run", "MLSEC-PKL-001"),
    ("pdb", "run", "MLSEC-PKL-001"),
    ("timeit", "timeit", "MLSEC-PKL-001"),
    ("_operator", "attrgetter", "MLSEC-PKL-002"),
    ("operator", "methodcaller", "MLSEC-PKL-002"),
    ("builtins", "getattr", "MLSEC-PKL-002"),
    ("pip", "main", "MLSEC-PKL-001"),
    ("pip._internal.cli.main", "main", "MLSEC-PKL-001"),
    ("importlib", "import_module", "MLSEC-PKL-002"),
    ("ctypes", "CDLL", "MLSEC-PKL-001"),
    ("webbrowser", "open", "MLSEC-PKL-004"),
    ("asyncio", "create_subprocess_shell", "MLSEC-PKL-001"),
    ("asyncio.subprocess", "create_subprocess_exec", "MLSEC-PKL-001"),
    ("shutil", "rmtree", "MLSEC-PKL-003"),
    ("functools", "partial", "MLSEC-PKL-001"),
    ("pickle", "loads", "MLSEC-PKL-002"),
    ("_pickle", "loads", "MLSEC-PKL-002"),
    ("torch.storage", "_load_from_bytes", "MLSEC-PKL-002"),
    ("torch", "load", "MLSEC-PKL-002"),
    ("numpy", "load", "MLSEC-PKL-002"),
    ("nt", "system", "MLSEC-PKL-001"),
    ("posix", "popen", "MLSEC-PKL-001"),
    ("subprocess", "check_output", "MLSEC-PKL-001"),
    ("socket", "create_connection", "MLSEC-PKL-004"),
    ("urllib.request", "urlopen", "MLSEC-PKL-004"),
    ("builtins", "exec", "MLSEC-PKL-001"),
    ("builtins", "__import__", "MLSEC-PKL-002"),
    ("sys", "exit", "MLSEC-PKL-001"),
    ("os", "remove", "MLSEC-PKL-003"),
    ("some_unknown_pkg.module", "do_it", "MLSEC-PKL-005"),
    ("copyreg", "__newobj__", "MLSEC-PKL-001"),
]


@pytest.mark.parametrize(("module", "name", "rule"), BYPASSES)
@pytest.mark.parametrize("opcode", ["GLOBAL", "STACK_GLOBAL"])
def test_bypass_callables_fail(module: str, name: str, rule: str, opcode: str) -> None:
    if opcode == "GLOBAL":
        data = asm.proto(2) + asm.call(asm.global_(module, name), asm.binunicode("x")) + b"."
    else:
        data = asm.proto(4) + asm.call(asm.stack_global(module, name), asm.sbu("x")) + b"."
    result = analyze(data)
    assert blocking(result.findings), f"{module}.{name} passed"
    assert rule in rule_ids(result.findings)


def test_operator_chain_attrgetter_then_call() -> None:
    getter = asm.call(asm.global_("operator", "attrgetter"), asm.binunicode("system"))
    chain = asm.call(getter, asm.global_("os", "path")) + b"."
    r = analyze(asm.proto(2) + chain)
    assert {"operator.attrgetter", "os.path.path"} & keys(r.findings) or "operator.attrgetter" in keys(r.findings)
    assert "MLSEC-PKL-013" in rule_ids(r.findings)


def test_verdict_does_not_depend_on_installed_packages() -> None:
    # "torch" and "transformers" need not be importable: names are judged, never imported
    ok = asm.proto(2) + asm.call(asm.global_("transformers.training_args", "TrainingArguments")) + b"."
    assert not analyze(ok).findings
    bad = asm.proto(2) + asm.call(asm.global_("definitely_not_installed_xyz", "Thing")) + b"."
    assert blocking(analyze(bad).findings)


@pytest.mark.parametrize(
    "qualname",
    [
        "torch._utils._rebuild_tensor_v2",
        "torch.FloatStorage",
        "collections.OrderedDict",
        "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct",
        "_codecs.encode",
        "builtins.set",
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.linear_model._logistic.LogisticRegression",
    ],
)
def test_vetted_globals_pass(qualname: str) -> None:
    module, _, name = qualname.rpartition(".")
    r = analyze(asm.proto(2) + asm.global_(module, name) + b".")
    assert not r.findings


@pytest.mark.parametrize(
    "qualname",
    ["sklearn.datasets.fetch_openml", "sklearn.utils._testing.TempMemmap", "sklearn.externals.joblib.load"],
)
def test_pattern_entries_do_not_cover_functions_or_excluded_modules(qualname: str) -> None:
    module, _, name = qualname.rpartition(".")
    assert blocking(analyze(asm.proto(2) + asm.global_(module, name) + b".").findings)


def test_every_allow_list_entry_has_a_note() -> None:
    text = resources.files("pytest_mlsec.artifacts").joinpath("data/safe_globals.toml").read_text("utf-8")
    data = tomllib.loads(text)
    for entry in data["entry"] + data["pattern"]:
        assert len(entry["note"]) > 15, entry


def test_no_dangerous_name_is_on_the_allow_list() -> None:
    allow = policy.builtin_allow_list()
    dangerous_modules = {
        "os",
        "posix",
        "nt",
        "subprocess",
        "runpy",
        "pickle",
        "importlib",
        "operator",
        "functools",
        "code",
        "pdb",
        "ctypes",
        "socket",
        "shutil",
        "sys",
        "pkgutil",
        "webbrowser",
        "marshal",
    }
    for qual in allow.exact:
        module = qual.rpartition(".")[0]
        assert module.split(".")[0] not in dangerous_modules, qual
    for qual in (
        "builtins.getattr",
        "builtins.eval",
        "builtins.exec",
        "builtins.__import__",
        "builtins.open",
        "torch.load",
        "torch.storage._load_from_bytes",
        "numpy.load",
        "joblib.numpy_pickle.NDArrayWrapper",
    ):
        assert allow.reason(qual) is None, qual


def test_strict_policy_flags_any_pickle() -> None:
    r = analyze(b"\x80\x02]q\x00.", policy="strict")
    assert "MLSEC-PKL-006" in rule_ids(r.findings)
    assert "MLSEC-PKL-006" not in rule_ids(analyze(b"\x80\x02]q\x00.").findings)


def test_user_allow_list_exact_and_glob() -> None:
    data = asm.proto(2) + asm.call(asm.global_("mypkg.models", "Net")) + b"."
    assert blocking(analyze(data).findings)
    assert not analyze(data, extra_allowed=frozenset({"mypkg.models.Net"})).findings
    assert not analyze(data, extra_allowed=frozenset({"mypkg.models.*"})).findings
    assert blocking(analyze(data, extra_allowed=frozenset({"mypkg.other.*"})).findings)


def test_finding_explains_itself() -> None:
    r = analyze(asm.proto(4) + asm.call(asm.stack_global("posixpath", "os.system"), asm.sbu("x")) + b".")
    f = next(f for f in r.findings if f.key == "os.system")
    assert f.location.path == "t.pkl"
    assert f.location.offset is not None
    assert f.evidence["opcode"] == "STACK_GLOBAL"
    assert f.evidence["category"] == policy.COMMANDS
    assert "posixpath.os.system" in f.message
    assert "safetensors" in f.remediation
    assert "allow" in f.remediation


def test_modules_named_in_a_pickle_are_never_imported() -> None:
    import sys

    for module in ("this", "antigravity", "turtle"):
        sys.modules.pop(module, None)
        r = analyze(asm.proto(4) + asm.call(asm.stack_global(module, "main")) + b".")
        assert blocking(r.findings)
        assert module not in sys.modules

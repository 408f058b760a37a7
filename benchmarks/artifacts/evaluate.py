"""Accuracy: verdicts of mlsec and the other scanners over one corpus (benign + malicious).

    .venv/bin/python benchmarks/artifacts/evaluate.py [--tools mlsec,picklescan,...]

The malicious files are written opcode by opcode (harmless payload ``true``) by the same helpers
the tests use, one per publicly reported bypass class; the benign files are the real-library
fixtures of tests/artifacts/fixtures/benign. Each tool runs as its own CLI on each file; exit
status 0 = passed, 1 = flagged, anything else (or a timeout) = error. An error on a malicious
file counts as "not caught" (a gate that errors is not a verdict), an error on a benign file as
"not passed".
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.artifacts import asm  # noqa: E402
from tests.artifacts.test_containers import _entries, _legacy_torch, npy, torch_zip  # noqa: E402

CORPUS = ROOT / "benchmarks" / "data" / "corpus"
ENV = ROOT / "benchmarks" / "envs" / "others" / "bin"
os.environ.update(PROMPTFOO_DISABLE_TELEMETRY="1", NO_ANALYTICS="1", DO_NOT_TRACK="1")
TOOLS = {
    "mlsec": [str(ROOT / ".venv" / "bin" / "mlsec"), "scan", "--no-progress"],
    "picklescan": [str(ENV / "picklescan"), "-p"],
    "modelscan": [str(ENV / "modelscan"), "-p"],
    "modelaudit": [str(ENV / "modelaudit"), "scan", "--no-cache", "-q"],
    "fickling": [str(ENV / "fickling"), "--check-safety"],
}


def call(module: str, name: str, arg: str = "true", protocol: int = 2) -> bytes:
    if protocol >= 4:
        return asm.proto(protocol) + asm.call(asm.stack_global(module, name), asm.sbu(arg)) + b"."
    return asm.proto(protocol) + asm.call(asm.global_(module, name), asm.binunicode(arg)) + b"."


def malicious() -> dict[str, bytes]:
    p = asm.system_pickle("true")
    out = {
        "os_system.pkl": p,
        "os_system_p0.pkl": b"cos\nsystem\n(S'true'\ntR.",
        "posix_system_p4.pkl": call("posix", "system", protocol=4),
        "dotted_posixpath_os_system.pkl": call("posixpath", "os.system", protocol=4),
        "dotted_print_self_exec.pkl": call("builtins", "print.__self__.exec", "1", protocol=4),
        "runpy_run_code.pkl": call("runpy", "_run_code", "1"),
        "pkgutil_resolve_name.pkl": call("pkgutil", "resolve_name", "os:system"),
        "code_interactive.pkl": call("code", "InteractiveInterpreter"),
        "torch_hub_load.pkl": call("torch.hub", "load", "attacker/repo"),
        "cprofile_run.pkl": call("cProfile", "run", "1"),
        "profile_run.pkl": call("profile", "run", "1"),
        "pdb_run.pkl": call("pdb", "run", "1"),
        "timeit.pkl": call("timeit", "timeit", "1"),
        "pip_main.pkl": call("pip", "main", "install"),
        "operator_attrgetter.pkl": asm.proto(2)
        + asm.call(asm.call(asm.global_("_operator", "attrgetter"), asm.binunicode("system")), asm.global_("os", "p"))
        + b".",
        "getattr_chain.pkl": asm.proto(2)
        + asm.call(asm.call(asm.global_("builtins", "getattr"), asm.global_("os", "path"), asm.binunicode("x")))
        + b".",
        "importlib.pkl": call("importlib", "import_module", "os"),
        "ctypes.pkl": call("ctypes", "CDLL", "libc.so.6"),
        "webbrowser.pkl": call("webbrowser", "open", "http://127.0.0.1/"),
        "asyncio_subprocess.pkl": call("asyncio", "create_subprocess_shell"),
        "shutil_rmtree.pkl": call("shutil", "rmtree", "/nonexistent"),
        "functools_partial.pkl": call("functools", "partial"),
        "unknown_module.pkl": call("attacker_pkg.gadgets", "run"),
        "popped_call.pkl": asm.proto(2) + asm.call(asm.global_("os", "system"), asm.binunicode("true")) + b"0N.",
        "broken_after_payload.pkl": p[:-1] + b"\xff\xfe",
        "nested_pickle.pkl": asm.proto(3) + asm.binbytes(p) + b".",
        "stack_global_memo.pkl": asm.proto(4)
        + asm.sbu("os")
        + asm.binput(0)
        + b"0"
        + asm.sbu("system")
        + asm.binput(1)
        + b"0"
        + asm.binget(0)
        + asm.binget(1)
        + b"\x93"
        + asm.tuple_(asm.sbu("true"))
        + b"R.",
        "ext_code.pkl": asm.proto(2) + b"\x82\x01" + asm.tuple_() + b"R.",
        "as.safetensors": p,
        "as_config.json": p,
        "extensionless": p,
        "torch_zip.pt": torch_zip(p),
        "torch_zip_second_pickle.pt": torch_zip(b"\x80\x02}q\x00.", extra={"archive/other.pkl": p}),
        "legacy_torch.pt": _legacy_torch(p),
        "npy_object.npy": npy({"descr": "|O", "fortran_order": False, "shape": (1,)}, p),
        "joblib_zlib.joblib": __import__("zlib").compress(p),
        "joblib_gzip.joblib": gzip.compress(p),
        "joblib_bz2.joblib": bz2.compress(p),
        "joblib_xz.joblib": lzma.compress(p),
        "joblib_lzma.joblib": lzma.compress(p, format=lzma.FORMAT_ALONE),
    }
    z = bytearray(torch_zip(p))
    cen, loc = _entries(bytes(z), b"archive/data.pkl")
    z[cen + 16 : cen + 20] = b"\xde\xad\xbe\xef"
    out["zip_bad_crc.pt"] = bytes(z)
    z = bytearray(torch_zip(p))
    cen, loc = _entries(bytes(z), b"archive/data.pkl")
    z[cen + 8] |= 1
    z[loc + 6] |= 1
    out["zip_encrypted_flag.pt"] = bytes(z)
    z = bytearray(torch_zip(p))
    cen, loc = _entries(bytes(z), b"archive/data.pkl")
    z[loc + 30 : loc + 37] = b"ARCHIVE"
    out["zip_name_mismatch.pt"] = bytes(z)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("model.pkl")
        info.size = len(p)
        tf.addfile(info, io.BytesIO(p))
    out["tar_gz.tgz"] = buf.getvalue()
    try:
        import py7zr

        buf = io.BytesIO()
        with py7zr.SevenZipFile(buf, "w") as archive:
            archive.writestr(p, "model.pkl")
        out["wrapped.7z"] = buf.getvalue()
    except ImportError:
        pass
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("inner.zip", torch_zip(p))
    out["zip_in_zip.zip"] = buf.getvalue()
    return out


def build() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    (CORPUS / "malicious").mkdir(parents=True)
    for name, data in malicious().items():
        (CORPUS / "malicious" / name).write_bytes(data)
    shutil.copytree(ROOT / "tests" / "artifacts" / "fixtures" / "benign", CORPUS / "benign")


def verdict(tool: str, path: Path) -> str:
    try:
        proc = subprocess.run([*TOOLS[tool], str(path)], check=False, capture_output=True, timeout=120, cwd="/tmp")
    except subprocess.TimeoutExpired:
        return "error"
    return {0: "pass", 1: "flag"}.get(proc.returncode, "error")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    build()
    tools = args.tools.split(",")
    import concurrent.futures

    files = [(kind, path) for kind in ("benign", "malicious") for path in sorted((CORPUS / kind).iterdir())]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = {(path, t): pool.submit(verdict, t, path) for _, path in files for t in tools}
        rows = [(kind, path.name, {t: results[(path, t)].result() for t in tools}) for kind, path in files]
    print(
        "| tool | malicious caught | malicious missed (pass) | malicious errored "
        "| benign passed | benign flagged | benign errored |"
    )
    print("|---|---|---|---|---|---|---|")
    n_mal = sum(1 for r in rows if r[0] == "malicious")
    n_ben = len(rows) - n_mal
    for t in tools:
        mal = [r[2][t] for r in rows if r[0] == "malicious"]
        ben = [r[2][t] for r in rows if r[0] == "benign"]
        print(
            f"| {t} | {mal.count('flag')}/{n_mal} | {mal.count('pass')} | {mal.count('error')} | "
            f"{ben.count('pass')}/{n_ben} | {ben.count('flag')} | {ben.count('error')} |"
        )
    print()
    print("| file | " + " | ".join(tools) + " |")
    print("|---|" + "---|" * len(tools))
    for kind, name, v in rows:
        print(f"| {kind}/{name} | " + " | ".join(v[t] for t in tools) + " |")


if __name__ == "__main__":
    main()

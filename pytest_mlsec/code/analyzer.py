"""The AST analysis behind the code-hazard check.

The source is parsed with :func:`compile` to an AST only; nothing is imported or run. Calls are
resolved through the file's imports (``import torch as t``, ``from pickle import loads as l``)
so aliases do not hide a hazard, and the safe twin of each call (``weights_only=True``,
``Loader=yaml.SafeLoader``, ``revision=<40-hex SHA>``) is recognised so it is not reported.

Indirection does not hide a call either: ``getattr(torch, "load")``, ``torch.__dict__["load"]``,
``importlib.import_module("pickle")``, ``__import__``, ``operator.attrgetter``, ``functools.partial`` and
names bound once to any of these resolve to the same rules. Keyword arguments passed as ``**{...}``,
``**dict(...)`` or ``**opts`` (a dict literal bound once in the same scope) are merged in, and a flag
bound once to a literal (``SAFE = False``) is read through. A safety flag whose value cannot be proven
(``weights_only=args.flag``) fails closed: it is reported at the rule's severity, saying so.

``eval``/``exec`` are reported only when their argument comes from loaded data: a small
flow-insensitive taint pass marks names assigned from file/config/environment/network reads.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from pytest_mlsec.findings import Severity
from pytest_mlsec.rules import Rule

from . import rules as R


@dataclass(frozen=True)
class Hit:
    """One hazard at a 1-based line and column."""

    rule: Rule
    line: int
    column: int
    key: str
    message: str
    severity: Severity | None = None


TORCH_LOADS = frozenset({"torch.load", "torch.serialization.load", "torch.hub.load_state_dict_from_url"})
PICKLE_LOADS = frozenset(
    {
        "pickle.load",
        "pickle.loads",
        "pickle.Unpickler",
        "cPickle.load",
        "cPickle.loads",
        "_pickle.load",
        "_pickle.loads",
        "_pickle.Unpickler",
        "cloudpickle.load",
        "cloudpickle.loads",
        "dill.load",
        "dill.loads",
        "dill.Unpickler",
        "joblib.load",
        "sklearn.externals.joblib.load",
        "pandas.read_pickle",
        "shelve.open",
        "jsonpickle.decode",
        "numpy.loads",
        "pickle5.load",
        "pickle5.loads",
    }
)
NUMPY_LOADS = frozenset({"numpy.load", "numpy.lib.npyio.load"})
YAML_LOADS = frozenset({"yaml.load", "yaml.load_all"})
YAML_UNSAFE = frozenset({"yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all"})
SAFE_LOADERS = ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
TORCH_HUB_LOADS = frozenset({"torch.hub.load"})
HUB_DOWNLOADS = frozenset({"hf_hub_download", "snapshot_download"})
EVALS = frozenset({"eval", "exec", "builtins.eval", "builtins.exec"})

_SHA = re.compile(r"^[0-9a-f]{40}$")
_CONFIGISH = re.compile(
    r"(?i)(?:^|_)(?:conf|config|configs|cfg|settings|hparams?|hyperparams|params|args|opts|options|spec|yaml|"
    r"json|environ|env|request|payload|user_input|query|body|metadata)(?:$|_)"
)
_SOURCE_CALLS = frozenset(
    {
        "json.load",
        "json.loads",
        "yaml.safe_load",
        "yaml.load",
        "yaml.full_load",
        "toml.load",
        "toml.loads",
        "tomllib.load",
        "tomllib.loads",
        "tomli.load",
        "tomli.loads",
        "omegaconf.OmegaConf.load",
        "omegaconf.OmegaConf.create",
        "input",
        "open",
        "os.getenv",
        "os.environ.get",
        "requests.get",
        "requests.post",
        "urllib.request.urlopen",
        "sys.stdin.read",
        "configparser.ConfigParser",
    }
)
_SOURCE_METHODS = frozenset({"read", "read_text", "readline", "readlines", "json", "parse_args", "getenv", "recv"})
_SOURCE_ATTRS = frozenset({"os.environ", "sys.argv"})


def _collect_imports(nodes: Iterable[ast.AST]) -> dict[str, str]:
    """Local name -> imported dotted name, from ``import x as y`` and ``from x import y as z``."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    aliases.setdefault(top, top)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for a in node.names:
                if a.name != "*":
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


_T = TypeVar("_T")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
Bindings = dict[tuple[int, str], list[ast.expr | None]]


def _bindings(tree: ast.AST) -> tuple[dict[int, int], Bindings]:
    """Which scope each node sits in, and what each name is bound to per scope.

    A name bound once by a plain assignment maps to its value; any other binding (a second
    assignment, a loop or ``with`` target, a parameter, ``global``) records ``None`` so the name is
    treated as unknown rather than guessed. Iterative, so deep nesting cannot overflow the stack here.
    """
    scope_of: dict[int, int] = {}
    bound: Bindings = {}
    counter = 0
    plain_targets: set[int] = set()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, scope = stack.pop()
        scope_of[id(node)] = scope
        inner = scope
        if isinstance(node, _SCOPES):
            counter += 1
            inner = counter
            if not isinstance(node, ast.Lambda):
                bound.setdefault((scope, node.name), []).append(None)
            if not isinstance(node, ast.ClassDef):
                a = node.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                    if arg is not None:
                        bound.setdefault((inner, arg.arg), []).append(None)
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault((scope, target.id), []).append(node.value)
                    plain_targets.add(id(target))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.value is not None:
                bound.setdefault((scope, node.target.id), []).append(node.value)
            plain_targets.add(id(node.target))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                bound.setdefault((scope, name), []).append(None)
        elif (
            isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in plain_targets
        ):  # plain `x = ...` targets were recorded above with their value
            bound.setdefault((scope, node.id), []).append(None)
        for child in ast.iter_child_nodes(node):
            # decorators, defaults and base classes are evaluated in the enclosing scope
            stack.append((child, inner if isinstance(node, _SCOPES) and child in _body_of(node) else scope))
    return scope_of, bound


def _body_of(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Lambda):
        return [node.body, node.args]
    body: list[ast.AST] = list(getattr(node, "body", []))
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        body.append(node.args)
    return body


def _truthy_literal(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return bool(node.elts)
    return isinstance(node, ast.Constant) and bool(node.value)


def _canonical(name: str) -> str:
    """Map common re-export paths to one name (``np`` aliases are resolved already)."""
    for prefix, repl in (("numpy.core.", "numpy."), ("pandas.io.pickle.", "pandas.")):
        if name.startswith(prefix):
            return repl + name[len(prefix) :]
    return name


class Analyzer:
    """Hazards of one module (or notebook cell)."""

    def __init__(self, tree: ast.AST, aliases: dict[str, str] | None = None) -> None:
        self.nodes = list(ast.walk(tree))  # one traversal, shared by every pass
        self.aliases = {**(aliases or {}), **_collect_imports(self.nodes)}
        self.tree = tree
        self.tainted: set[str] = set()
        self._tainted_ready = False
        self.scope_of, self.bindings = _bindings(tree)
        self._resolving: set[tuple[int, str]] = set()
        self.safe_loader_classes = self._safe_loader_classes()

    def _safe_loader_classes(self) -> set[str]:
        """Classes defined here whose every base is a safe yaml loader (e.g. a SafeLoader that adds
        tag constructors); subclasses of those count too. Mixing in any other base is not safe."""
        classes = [n for n in self.nodes if isinstance(n, ast.ClassDef) and n.bases]
        safe: set[str] = set()
        changed = True
        while changed:
            changed = False
            for node in classes:
                if node.name in safe:
                    continue
                scope = self.scope_of.get(id(node), 0)
                names = [self.qualname(base, scope) for base in node.bases]
                if all(n and n.rsplit(".", 1)[-1] in (*SAFE_LOADERS, *safe) for n in names):
                    safe.add(node.name)
                    changed = True
        return safe

    # -- name resolution ---------------------------------------------------------------------

    def qualname(self, node: ast.AST, scope: int = 0) -> str | None:
        """Dotted name of ``node``, seen through imports, simple aliases and constant-string indirection.

        ``load = torch.load``, ``getattr(torch, "load")``, ``torch.__dict__["load"]``,
        ``vars(pickle)["loads"]``, ``importlib.import_module("pickle")`` and ``__import__("pickle")``
        all name the same callable as the direct spelling, so they reach the same rules.
        """
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return _canonical(self.aliases[node.id])
            bound = self.binding(node.id, scope)
            if bound is not None and not isinstance(bound, ast.Constant):
                resolved = self._guarded(node.id, scope, lambda: self.qualname(bound, scope))
                if resolved:
                    return resolved
            return _canonical(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "__dict__":
                return None  # only meaningful when subscripted (below)
            base = self.qualname(node.value, scope)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            return self._dynamic_name(node, scope)
        if isinstance(node, ast.Subscript):
            key = self.string(node.slice, scope)
            if key is None or not key.isidentifier():
                return None
            holder = node.value
            if isinstance(holder, ast.Attribute) and holder.attr == "__dict__":
                base = self.qualname(holder.value, scope)
                return _canonical(f"{base}.{key}") if base else None
            if (
                isinstance(holder, ast.Call)
                and len(holder.args) == 1
                and self.qualname(holder.func, scope) in ("vars", "builtins.vars")
            ):
                base = self.qualname(holder.args[0], scope)
                return _canonical(f"{base}.{key}") if base else None
            if self.qualname(holder, scope) == "sys.modules":
                return _canonical(key)
        return None

    def _dynamic_name(self, node: ast.Call, scope: int) -> str | None:
        if (  # operator.attrgetter("load")(torch)
            isinstance(node.func, ast.Call)
            and len(node.args) == 1
            and len(node.func.args) == 1
            and self.qualname(node.func.func, scope) == "operator.attrgetter"
        ):
            attr = self.string(node.func.args[0], scope)
            base = self.qualname(node.args[0], scope)
            if attr and base and all(part.isidentifier() for part in attr.split(".")):
                return _canonical(f"{base}.{attr}")
            return None
        func = self.qualname(node.func, scope)
        if func in ("getattr", "builtins.getattr") and len(node.args) >= 2:
            attr = self.string(node.args[1], scope)
            base = self.qualname(node.args[0], scope)
            if attr and base and attr.isidentifier():
                return _canonical(f"{base}.{attr}")
        elif func in ("importlib.import_module", "__import__", "builtins.__import__") and node.args:
            module = self.string(node.args[0], scope)
            if module and all(part.isidentifier() for part in module.split(".")):
                fromlist = node.args[3] if len(node.args) > 3 else None
                fromlist = next((k.value for k in node.keywords if k.arg == "fromlist"), fromlist)
                if func.endswith("__import__") and not (fromlist is not None and _truthy_literal(fromlist)):
                    module = module.split(".")[0]  # __import__("a.b") returns the top-level package
                return _canonical(module)
        return None

    # -- literal resolution ----------------------------------------------------------------------

    def binding(self, name: str, scope: int) -> ast.expr | None:
        """The single value bound to ``name`` in ``scope`` (else the module), when there is exactly one."""
        for where in (scope, 0) if scope else (0,):
            values = self.bindings.get((where, name))
            if values is not None:
                return values[0] if len(values) == 1 else None
        return None

    def _guarded(self, name: str, scope: int, fn: Callable[[], _T]) -> _T | None:
        token = (scope, name)
        if token in self._resolving or len(self._resolving) > 32:
            return None  # a cycle (a = b; b = a) or a pathological chain
        self._resolving.add(token)
        try:
            return fn()
        finally:
            self._resolving.discard(token)

    def literal(self, node: ast.AST | None, scope: int) -> ast.AST | None:
        """``node`` itself, or the literal a plain name is bound to (``SAFE = False``) in this scope."""
        if isinstance(node, ast.Name):
            bound = self.binding(node.id, scope)
            if bound is not None:
                resolved = self._guarded(node.id, scope, lambda: self.literal(bound, scope))
                return resolved if resolved is not None else node
        return node

    def string(self, node: ast.AST | None, scope: int) -> str | None:
        value = self.literal(node, scope)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        return None

    def call_kwargs(self, node: ast.Call, scope: int) -> tuple[dict[str, ast.expr], bool]:
        """Keyword arguments of a call, with ``**{...}`` / ``**dict(...)`` / ``**opts`` literals merged in.

        Returns the keywords and whether some ``**`` argument could not be resolved to a literal.
        """
        kwargs: dict[str, ast.expr] = {}
        unresolved = False
        for k in node.keywords:
            if k.arg:
                kwargs[k.arg] = k.value
                continue
            mapping = self._literal_mapping(k.value, scope)
            if mapping is None:
                unresolved = True
            else:
                kwargs.update(mapping)
        return kwargs, unresolved

    def _literal_mapping(self, node: ast.AST, scope: int) -> dict[str, ast.expr] | None:
        value = self.literal(node, scope)
        if isinstance(value, ast.Dict):
            out: dict[str, ast.expr] = {}
            for key, item in zip(value.keys, value.values, strict=True):
                if key is None:  # {**other}
                    inner = self._literal_mapping(item, scope)
                    if inner is None:
                        return None
                    out.update(inner)
                    continue
                name = self.string(key, scope)
                if name is None:
                    return None
                out[name] = item
            return out
        if isinstance(value, ast.Call) and self.qualname(value.func, scope) in ("dict", "builtins.dict"):
            if value.args:
                return None
            sub, unresolved = self.call_kwargs(value, scope)
            return None if unresolved else sub
        return None

    # -- taint ---------------------------------------------------------------------------------

    def _is_source(self, node: ast.AST) -> bool:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                name = self.qualname(sub.func)
                if name in _SOURCE_CALLS:
                    return True
                if isinstance(sub.func, ast.Attribute) and sub.func.attr in _SOURCE_METHODS:
                    return True
            elif isinstance(sub, ast.Subscript):
                if self.qualname(sub.value) in _SOURCE_ATTRS:
                    return True
            elif isinstance(sub, ast.Attribute):
                if self.qualname(sub) in _SOURCE_ATTRS or _CONFIGISH.search(sub.attr):
                    return True
            elif isinstance(sub, ast.Name) and (sub.id in self.tainted or _CONFIGISH.search(sub.id)):
                return True
        return False

    def _taint(self, tree: ast.AST) -> None:
        assigns: list[tuple[list[ast.expr], ast.AST]] = []
        for node in self.nodes:
            if isinstance(node, ast.Assign):
                assigns.append((node.targets, node.value))
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                assigns.append(([node.target], node.value))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                assigns.append(([node.target], node.iter))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        assigns.append(([item.optional_vars], item.context_expr))
            elif isinstance(node, ast.NamedExpr):
                assigns.append(([node.target], node.value))
        # Each assignment is summarised once (direct source? which names does it read?), then the
        # fixpoint is plain set algebra: linear in the module size, whatever the number of rounds.
        self.tainted = set()
        summaries = []
        for targets, value in assigns:
            direct = self._is_source(value)
            reads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
            written = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            summaries.append((direct, reads, written))
        changed = True
        while changed:
            changed = False
            for direct, reads, written in summaries:
                if (direct or reads & self.tainted) and not written <= self.tainted:
                    self.tainted |= written
                    changed = True

    # -- rules ---------------------------------------------------------------------------------

    def hits(self) -> list[Hit]:
        found: list[Hit] = []
        # a dict literal passed as **{...} is judged with its call, not a second time on its own
        spread = {id(k.value) for n in self.nodes if isinstance(n, ast.Call) for k in n.keywords if k.arg is None}
        for node in self.nodes:
            if isinstance(node, ast.Call):
                scope = self.scope_of.get(id(node), 0)
                found.extend(self._call(self._unpartial(node, scope), scope))
            elif isinstance(node, ast.Dict) and id(node) not in spread:
                found.extend(self._dict(node))
        found.sort(key=lambda h: (h.line, h.column, h.rule.id))
        return found

    def _unpartial(self, node: ast.Call, scope: int) -> ast.Call:
        """``functools.partial(torch.load, weights_only=False)`` is judged as the call it prepares."""
        if node.args and self.qualname(node.func, scope) in ("functools.partial", "functools.partialmethod"):
            inner = ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)
            return ast.copy_location(inner, node)
        return node

    def _call(self, node: ast.Call, scope: int) -> Iterable[Hit]:
        name = self.qualname(node.func, scope)
        kwargs, has_star = self.call_kwargs(node, scope)
        at = (node.lineno, node.col_offset + 1)
        if name in TORCH_LOADS:
            yield from self._torch(name, kwargs, has_star, at, scope)
        elif name in PICKLE_LOADS:
            yield Hit(R.PICKLE_LOAD, *at, name, f"{name}() deserialises with pickle: loading runs code from the data")
        elif name in NUMPY_LOADS:
            yield from self._numpy(name, kwargs, node, at, scope)
        elif name in TORCH_HUB_LOADS:
            source = self.literal(kwargs.get("source"), scope)
            if not (isinstance(source, ast.Constant) and source.value == "local"):
                yield Hit(
                    R.TRUST_REMOTE_CODE, *at, name, f"{name}() imports and runs hubconf.py from a GitHub repository"
                )
        elif (
            name
            and name.rsplit(".", 1)[-1] == "load_model"
            and _is_const(self.literal(kwargs.get("safe_mode"), scope), False)
        ):
            yield Hit(
                R.PICKLE_LOAD,
                *at,
                f"{name}:safe_mode",
                f"{name}(..., safe_mode=False) deserialises arbitrary Python code (Lambda layers)",
            )
        elif name in YAML_UNSAFE:
            yield Hit(R.YAML_LOAD, *at, name, f"{name}() can construct arbitrary Python objects")
        elif name in YAML_LOADS:
            yield from self._yaml(node, name, kwargs, has_star=has_star, at=at, scope=scope)
        elif name in EVALS or (name and name.rsplit(".", 1)[-1] in ("eval", "exec") and name.startswith("builtins")):
            yield from self._eval(node, name, at)
        yield from self._trust_remote_code(node, kwargs, name, at, scope)
        yield from self._revision(node, name, kwargs, has_star=has_star, at=at, scope=scope)

    def _numpy(
        self, name: str, kwargs: dict[str, ast.expr], node: ast.Call, at: tuple[int, int], scope: int
    ) -> Iterable[Hit]:
        allow = kwargs.get("allow_pickle", node.args[2] if len(node.args) > 2 else None)
        value = self.literal(allow, scope)
        if value is None or _is_const(value, False):
            return
        if _is_const(value, True):
            yield Hit(R.NUMPY_PICKLE, *at, name, f"{name}(..., allow_pickle=True) unpickles object arrays")
        else:
            yield Hit(
                R.NUMPY_PICKLE,
                *at,
                f"{name}:dynamic",
                f"{name}() with a non-literal allow_pickle: could not prove it is False, so object arrays may be "
                "unpickled",
            )

    def _yaml(
        self,
        node: ast.Call,
        name: str,
        kwargs: dict[str, ast.expr],
        *,
        has_star: bool,
        at: tuple[int, int],
        scope: int,
    ) -> Iterable[Hit]:
        loader = kwargs.get("Loader", node.args[1] if len(node.args) > 1 else None)
        loader_name = self.qualname(loader, scope) if loader is not None else None
        if loader_name and loader_name.rsplit(".", 1)[-1] in (*SAFE_LOADERS, *self.safe_loader_classes):
            return
        if loader is None and has_star:
            shown = "**kwargs"
            message = f"{name}() with **kwargs: could not prove the Loader is a safe loader"
        else:
            shown = loader_name or ("no Loader" if loader is None else "a dynamic Loader")
            message = f"{name}() with {shown}: not a safe loader"
        yield Hit(R.YAML_LOAD, *at, f"{name}:{shown}", message)

    def _torch(
        self, name: str, kwargs: dict[str, ast.expr], has_star: bool, at: tuple[int, int], scope: int
    ) -> Iterable[Hit]:
        raw = kwargs.get("weights_only")
        value = self.literal(raw, scope)
        if value is None:
            if has_star:
                yield Hit(
                    R.TORCH_LOAD,
                    *at,
                    f"{name}:kwargs",
                    f"{name}() with **kwargs: could not prove weights_only=True",
                )
            else:
                yield Hit(
                    R.TORCH_LOAD,
                    *at,
                    f"{name}:missing",
                    f"{name}() without weights_only=True unpickles the checkpoint on PyTorch < 2.6",
                )
        elif _is_const(value, False):
            via = "" if raw is value else " (through a constant)"
            yield Hit(
                R.TORCH_LOAD, *at, f"{name}:false", f"{name}(..., weights_only=False{via}) unpickles the checkpoint"
            )
        elif not _is_const(value, True):
            yield Hit(
                R.TORCH_LOAD,
                *at,
                f"{name}:dynamic",
                f"{name}() with a non-literal weights_only: could not prove it is True",
            )

    def _eval(self, node: ast.Call, name: str, at: tuple[int, int]) -> Iterable[Hit]:
        if not node.args or isinstance(node.args[0], ast.Constant):
            return
        if not self._tainted_ready:  # only modules that call eval/exec pay for the taint pass
            self._taint(self.tree)
            self._tainted_ready = True
        if self._is_source(node.args[0]):
            short = name.rsplit(".", 1)[-1]
            yield Hit(R.EVAL_CONFIG, *at, short, f"{short}() of a value derived from loaded data or input")

    def _trust_remote_code(
        self, node: ast.Call, kwargs: dict[str, ast.expr], name: str | None, at: tuple[int, int], scope: int
    ) -> Iterable[Hit]:
        raw = kwargs.get("trust_remote_code")
        value = self.literal(raw, scope)
        if value is None or _is_const(value, False) or _is_const(value, None):
            return
        callee = name or _attr_name(node.func) or "call"
        if _is_const(value, True):
            yield Hit(R.TRUST_REMOTE_CODE, *at, callee, f"{callee}(..., trust_remote_code=True) runs repository code")
        else:
            yield Hit(
                R.TRUST_REMOTE_CODE,
                *at,
                f"{callee}:dynamic",
                f"{callee}() with a non-literal trust_remote_code: could not prove it is False, so repository "
                "code may run",
            )

    def _dict(self, node: ast.Dict) -> Iterable[Hit]:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "trust_remote_code" and _is_const(value, True):
                yield Hit(
                    R.TRUST_REMOTE_CODE,
                    key.lineno,
                    key.col_offset + 1,
                    "dict",
                    '{"trust_remote_code": True} enables running repository code',
                )

    def _revision(
        self,
        node: ast.Call,
        name: str | None,
        kwargs: dict[str, ast.expr],
        *,
        has_star: bool,
        at: tuple[int, int],
        scope: int,
    ) -> Iterable[Hit]:
        attr = _attr_name(node.func)
        short = (name or attr or "").rsplit(".", 1)[-1]
        if short != "from_pretrained" and short not in HUB_DOWNLOADS:
            return
        if short in HUB_DOWNLOADS and name and "." in name and not name.startswith("huggingface_hub"):
            return  # some other library's function of the same name
        if _is_const(self.literal(kwargs.get("local_files_only"), scope), True):
            return
        repo_arg = kwargs.get("pretrained_model_name_or_path", kwargs.get("repo_id"))
        if repo_arg is None and node.args:
            repo_arg = node.args[0]
        repo = self.literal(repo_arg, scope)
        callee = name if name and short in HUB_DOWNLOADS else f"{_receiver(node.func, self, scope)}.from_pretrained"
        if isinstance(repo, ast.Constant) and isinstance(repo.value, str) and _looks_local(repo.value):
            return
        revision = self.literal(kwargs.get("revision"), scope)
        if revision is None:
            if has_star:
                return
            if repo is None or isinstance(repo, ast.Constant):
                yield Hit(R.UNPINNED_REVISION, *at, callee, f"{callee}() without revision=<commit SHA>")
            else:
                yield Hit(
                    R.UNPINNED_REVISION,
                    *at,
                    f"{callee}:dynamic",
                    f"{callee}() of a non-literal model id without revision=<commit SHA> (a local path needs none)",
                    Severity.LOW,
                )
            return
        if isinstance(revision, ast.Constant) and isinstance(revision.value, str):
            if not _SHA.match(revision.value):
                yield Hit(
                    R.UNPINNED_REVISION,
                    *at,
                    f"{callee}:ref",
                    f"{callee}(revision={revision.value!r}) "
                    "names a branch or tag, which can move; pin the 40-hex commit SHA",
                )
        elif not _is_const(revision, None):
            return  # a variable revision: pinned in configuration, presumably
        else:
            yield Hit(R.UNPINNED_REVISION, *at, callee, f"{callee}(revision=None) uses the default branch")


def _is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _attr_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _receiver(func: ast.AST, analyzer: Analyzer, scope: int) -> str:
    if isinstance(func, ast.Attribute):
        return analyzer.qualname(func.value, scope) or "<expr>"
    return "<expr>"


def _looks_local(value: str) -> bool:
    """``./ckpt``, ``/models/x``, ``~/m``, ``outputs/run/checkpoint-500``: local folders need no revision."""
    if value.startswith((".", "/", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", value):
        return True
    if value.count("/") >= 2 or "\\" in value:
        return True
    return bool(re.search(r"\.(?:bin|pt|pth|safetensors|json|ckpt|h5|onnx|gguf)$", value))


def parse(source: str, filename: str) -> ast.AST:
    """Parse without executing; top-level ``await`` (notebooks) is allowed."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree: ast.AST = compile(source, filename, "exec", flags=flags, dont_inherit=True)
    return tree


def imports_of(tree: ast.AST) -> dict[str, str]:
    """Local name -> imported name, for sharing imports between notebook cells."""
    return _collect_imports(ast.walk(tree))


def analyse(source: str | ast.AST, filename: str, aliases: dict[str, str] | None = None) -> list[Hit]:
    """Hazards in ``source``; raises ``SyntaxError``/``ValueError``/``RecursionError`` for unparseable input."""
    tree = parse(source, filename) if isinstance(source, str) else source
    return Analyzer(tree, aliases).hits()

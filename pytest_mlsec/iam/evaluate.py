"""Per-principal evaluation: what does this role effectively get, for one action, after Deny and boundary?

The IAM rules that matter here (simplified from AWS's evaluation logic, without SCPs and
resource policies): an action is granted when an identity-policy Allow matches it and no
explicit Deny covers it, and - when a permissions boundary is set - the boundary allows it too.
A Deny neutralises a grant only where it *fully* covers it: an unconditional Deny whose actions
match and whose resources contain the granted resources. Conditional Denies are recorded, not trusted.

Conditions on an Allow narrow a grant only when the key applies to the action and actually
scopes what is reachable (``iam:PassedToService``, ``aws:ResourceTag/...``, ``s3:prefix``,
``kms:ViaService``, ``sagemaker:*`` guardrail keys); other conditions (``aws:RequestedRegion``,
``aws:SourceIp``...) are noted as "conditioned" but leave the grant as broad as it was.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_mlsec.iam.actiondb import ActionDatabase, ActionInfo, wildcard_match
from pytest_mlsec.iam.model import NEGATED_OPERATORS, Principal, Statement

# Global keys that say something about the request or the caller, not about which resources
# are reachable: they never make a broad grant narrow.
NON_SCOPING_GLOBAL = frozenset(
    {
        "aws:requestedregion",
        "aws:securetransport",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:currenttime",
        "aws:epochtime",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:vpcsourceip",
        "aws:useragent",
        "aws:referer",
        "aws:principaltype",
        "aws:userid",
        "aws:username",
        "aws:tokenissuetime",
        "aws:viaawsservice",
        "aws:principalisawsservice",
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalarn",
        "aws:principalservicename",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
        "aws:federatedprovider",
        "aws:ec2instancesourcevpc",
        "aws:ec2instancesourceprivateipv4",
        "aws:sourceidentity",
    }
)
SCOPING_GLOBAL = frozenset(
    {"aws:sourcearn", "aws:sourceaccount", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast"}
)
# Service keys that apply to every action of their service but are not listed per action.
SERVICE_WIDE = frozenset({"kms:viaservice"})
NON_SCOPING_SUFFIXES = (
    ":tlsversion",
    ":signatureversion",
    ":authtype",
    ":x-amz-content-sha256",
    ":signatureage",
    ":calleraccount",
    ":region",
    ":resourceaccount",
)
_TEMPLATE = re.compile(r"[/:]?(\$\{[^}]*\}|<[^>]*>|tag-key)$")


_VAR = re.compile(r"\$\{[^}]*\}")
_APPLICABLE: dict[tuple[str, str], bool] = {}
_ANY, _SEGMENT, _FIELD = "\x00", "\x01", "\x02"  # any run / no "/" (bucket names) / no ":"
_TOKENS = (_ANY, _SEGMENT, _FIELD)


@functools.lru_cache(maxsize=8192)
def _template_tokens(template: str) -> str:
    """``arn:${Partition}:s3:::${BucketName}`` -> ``arn:<FIELD>:s3:::<SEGMENT>``.

    A variable followed by ``:`` is one ARN field (no ``:`` inside), a bucket name has
    no ``/``, and any other variable (the trailing resource name or path) may contain anything.
    """

    def token(m: re.Match[str]) -> str:
        if m.group(0) == "${BucketName}":
            return _SEGMENT
        return _FIELD if template[m.end() : m.end() + 1] == ":" else _ANY

    return _VAR.sub(token, template).lower()


@functools.lru_cache(maxsize=65536)
def glob_overlap(pattern: str, template: str) -> bool:
    """Can the IAM wildcard ``pattern`` and the tokenised ARN ``template`` match one common ARN?"""
    p, t = pattern.lower(), template
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        pe, te = i == len(p), j == len(t)
        if pe and te:
            return True
        pc = "" if pe else p[i]
        tc = "" if te else t[j]
        if pc == "*":
            stack.append((i + 1, j))
            if not te:
                stack.append((i, j + 1))
                if tc in _TOKENS:
                    stack.append((i + 1, j + 1))
        if tc in _TOKENS:
            stack.append((i, j + 1))
            allowed = not pe and (tc == _ANY or (tc == _SEGMENT and pc != "/") or (tc == _FIELD and pc != ":"))
            if allowed:
                stack.append((i + 1, j))
                stack.append((i + 1, j + 1))
        if not pe and not te and pc != "*" and tc not in _TOKENS and pc in (tc, "?"):
            stack.append((i + 1, j + 1))
    return False


def applicable(info: ActionInfo | None, resource: str) -> bool:
    """Could ``resource`` (a pattern) name a resource this action acts on? (``"*"`` always can.)"""
    if info is None or not info.resource_types or resource == "*" or not resource.lower().startswith("arn:"):
        return True
    key = (info.name, resource)
    known = _APPLICABLE.get(key)
    if known is not None:
        return known
    base = _VAR.sub("x", resource)  # policy variables such as ${aws:username} name one concrete value
    result = any(not arn or glob_overlap(base, _template_tokens(arn)) for _, arn in info.resource_types)
    if len(_APPLICABLE) < 200_000:
        _APPLICABLE[key] = result
    return result


def _key_family(key: str) -> str:
    """``aws:ResourceTag/team`` and ``aws:resourcetag/${TagKey}`` are the same family."""
    low = key.lower()
    if "/" in low:
        return low.split("/", 1)[0] + "/"
    return _TEMPLATE.sub("", low)


def key_applies(key: str, info: ActionInfo | None) -> bool:
    """Does condition key ``key`` exist in the request context of this action?"""
    low = key.lower()
    if low in SCOPING_GLOBAL:
        return True
    if info is None:
        return True  # unknown action: give the benefit of the doubt, the grant is noted as conditioned
    if low in SERVICE_WIDE and info.name.lower().startswith(low.split(":")[0] + ":"):
        return True
    if low in info.condition_keys:
        return True
    family = _key_family(low)
    return any(_key_family(k) == family for k in info.condition_keys)


def key_scopes(operator: str, key: str, values: tuple[str, ...], info: ActionInfo | None) -> bool:
    """True when this condition really limits which resources (or services) the grant reaches."""
    op = operator.lower()
    low = key.lower()
    if any(n in op for n in NEGATED_OPERATORS) or op.endswith("ifexists") or op.startswith("null"):
        return False
    if op.startswith("bool") and not low.startswith("sagemaker:"):
        return False
    if not values or all(v.strip() in ("*", "") for v in values):
        return False
    if low in NON_SCOPING_GLOBAL or low.startswith("aws:principaltag/") or low.endswith(NON_SCOPING_SUFFIXES):
        return False
    if (
        low.startswith("aws:")
        and low not in SCOPING_GLOBAL
        and not low.startswith(("aws:resourcetag/", "aws:requesttag/", "aws:tagkeys"))
    ):
        return False
    return key_applies(key, info)


@functools.lru_cache(maxsize=65536)
def is_broad(resource: str) -> bool:
    """Does this resource pattern cover every resource of its type (``*``, ``role/*``, ``arn:aws:s3:::*``)?"""
    r = resource.strip()
    if not r or r == "*" or set(r) <= {"*", "?"}:
        return True
    if not r.lower().startswith("arn:"):
        return r.startswith("*")
    parts = r.split(":", 5)
    if len(parts) < 6:
        return r.endswith("*")
    service, rest = parts[2], parts[5]
    if not rest.strip("*?/:"):
        return True
    if service == "*":
        return False
    if service == "s3":
        return not rest.strip("*?/")
    m = re.match(r"^[A-Za-z0-9_.-]+[/:]", rest)
    name = rest[m.end() :] if m else rest
    return not name.strip("*?/")


def patterns_overlap(a: str, b: str) -> bool:
    """Could two resource patterns match a common resource? (conservative approximation)"""
    if a == "*" or b == "*" or wildcard_match(a, b) or wildcard_match(b, a):
        return True
    pa = re.split(r"[*?]", a, maxsplit=1)[0].lower()
    pb = re.split(r"[*?]", b, maxsplit=1)[0].lower()
    return ("*" in a or "?" in a or "*" in b or "?" in b) and (pa.startswith(pb) or pb.startswith(pa))


def resource_covered(patterns: Iterable[str], not_resource: bool, resource: str) -> bool:
    """Does a statement's resource element contain every resource matched by ``resource``?"""
    if not_resource:
        return not any(patterns_overlap(p, resource) for p in patterns)
    return any(wildcard_match(p, resource) for p in patterns)


@dataclass
class Grant:
    """One Allow statement granting ``action``, after Deny and boundary trimmed it."""

    statement: Statement
    action: str
    resources: tuple[str, ...]
    scoped_by: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def conditioned(self) -> bool:
        return bool(self.conditions)

    @property
    def broad(self) -> bool:
        """Reaches every resource of its type, with no condition that scopes it."""
        return not self.scoped_by and any(is_broad(r) for r in self.resources)

    def describe(self) -> str:
        res = ", ".join(self.resources)
        cond = f" when {'; '.join(self.conditions)}" if self.conditions else ""
        return f"{self.statement.describe()} allows {self.action} on {res}{cond}"


class StatementIndex:
    """Expanded action sets per statement, shared across principals (managed policies are shared)."""

    def __init__(self, db: ActionDatabase) -> None:
        self.db = db
        self._sets: dict[int, frozenset[str]] = {}
        self._granted: dict[int, frozenset[str]] = {}
        self._by_shape: dict[tuple[str, ...], frozenset[str]] = {}

    def expanded(self, stmt: Statement) -> frozenset[str]:
        key = id(stmt)
        cached = self._sets.get(key)
        if cached is None:
            if len(stmt.actions) == 1:
                cached = self.db.expand(stmt.actions[0])
            else:  # identical action lists (common across policies) share one set
                shape = tuple(sorted({a.lower() for a in stmt.actions}))
                cached = self._by_shape.get(shape)
                if cached is None:
                    cached = self._by_shape[shape] = frozenset().union(*(self.db.expand(a) for a in shape))
            self._sets[key] = cached
        return cached

    def matches(self, stmt: Statement, action_low: str) -> bool:
        hit = action_low in self.expanded(stmt)
        if not hit and not self.db.known(action_low):
            hit = any(wildcard_match(p, action_low) for p in stmt.actions)
        return hit != stmt.not_action

    def granted_set(self, stmt: Statement) -> frozenset[str]:
        """Every known action the statement's action element reaches (NotAction complemented)."""
        s = self.expanded(stmt)
        if not stmt.not_action:
            return s
        cached = self._granted.get(id(s))
        if cached is None:  # keyed by the (shared) expanded set: one complement per distinct NotAction
            cached = self._granted[id(s)] = self.db.all_actions - s
        return cached


def describe_condition(op: str, key: str, values: tuple[str, ...]) -> str:
    shown = ", ".join(values[:3]) + (", ..." if len(values) > 3 else "")
    return f"{op} {key} = {shown}"


@dataclass
class DenyFilters:
    """Set-level view of a principal's Denies and boundary, for fast bulk filtering.

    ``full_deny``: actions an unconditional Deny on every resource removes outright.
    ``scoped_deny``: actions an unconditional resource-scoped Deny may trim (checked one by one).
    ``boundary``: actions the permissions boundary allows at all (``None`` without a boundary).
    """

    full_deny: frozenset[str]
    scoped_deny: frozenset[str]
    boundary: frozenset[str] | None


class PrincipalView:
    """Queries over one principal's merged policies."""

    def __init__(self, principal: Principal, index: StatementIndex, *, ignore_denies: bool = False) -> None:
        self.principal = principal
        self.index = index
        self.db = index.db
        stmts = [s for p in principal.policies for s in p.statements]
        self.allows = [s for s in stmts if s.allow]
        self.denies = [s for s in stmts if not s.allow]
        boundary = principal.boundary.statements if principal.boundary else []
        self.boundary_allows = [s for s in boundary if s.allow]
        self.denies += [s for s in boundary if not s.allow]
        self.has_boundary = principal.boundary is not None
        if ignore_denies:  # the shared, principal-independent view of a statement
            self.denies = []
            self.has_boundary = False
        self._cache: dict[str, list[Grant]] = {}
        self._filters: DenyFilters | None = None
        self._bare: PrincipalView | None = None

    def without_denies(self) -> PrincipalView:
        """The same principal with Denies and boundary ignored (for shared statement evaluation)."""
        if not self.denies and not self.has_boundary:
            return self
        if self._bare is None:
            bare = PrincipalView.__new__(PrincipalView)
            bare.__dict__.update(self.__dict__)
            bare.denies, bare.has_boundary, bare._cache, bare._filters = [], False, {}, None
            self._bare = bare
        return self._bare

    def filters(self) -> DenyFilters:
        if self._filters is None:
            full: set[str] = set()
            scoped: set[str] = set()
            for d in self.denies:
                if d.conditions:
                    continue  # a conditional Deny never fully neutralises
                reach = self.index.granted_set(d)
                if not d.not_resource and any(set(r) <= {"*", "?"} for r in d.resources):
                    full |= reach
                else:
                    scoped |= reach
            boundary: frozenset[str] | None = None
            if self.has_boundary:
                allowed: set[str] = set()
                for b in self.boundary_allows:
                    allowed |= self.index.granted_set(b)
                boundary = frozenset(allowed)
            self._filters = DenyFilters(frozenset(full), frozenset(scoped), boundary)
        return self._filters

    def grants(self, action: str) -> list[Grant]:
        """Effective grants of ``action`` (empty when not granted or fully denied)."""
        low = action.lower()
        cached = self._cache.get(low)
        if cached is not None:
            return cached
        info = self.db.info(low)
        name = info.name if info else action
        out: list[Grant] = []
        for stmt in self.allows:
            if not self.index.matches(stmt, low):
                continue
            grant = self._grant(stmt, name, info)
            if grant is not None:
                out.append(grant)
        self._cache[low] = out
        return out

    def _grant(self, stmt: Statement, name: str, info: ActionInfo | None) -> Grant | None:
        low = name.lower()
        resources = ("*",) if stmt.not_resource else stmt.resources
        notes: list[str] = []
        if stmt.not_resource:
            notes.append(f"NotResource {list(stmt.resources)}: everything else is granted")
        if info is not None and not info.supports_resources:
            # Such an action is only granted by a statement that names every resource.
            if not stmt.not_resource and not any(set(r) <= {"*", "?"} for r in resources):
                return None
            resources = ("*",)
        elif not stmt.not_resource:
            resources = tuple(r for r in resources if applicable(info, r))
            if not resources:
                return None
        scoped: list[str] = []
        conds: list[str] = []
        for op, key, values in stmt.condition_keys():
            conds.append(describe_condition(op, key, values))
            if key_scopes(op, key, values, info):
                scoped.append(key)
        kept: list[str] = []
        work = list(resources)
        budget = 64
        while work and budget:
            budget -= 1
            r = work.pop()
            denied = False
            for d in self.denies:
                if not self.index.matches(d, low):
                    continue
                if d.conditions:
                    if d.not_resource or any(patterns_overlap(p, r) for p in d.resources):
                        notes.append(f"denied only under conditions by {d.describe()}")
                    continue
                if resource_covered(d.resources, d.not_resource, r):
                    denied = True
                    break
                if d.not_resource:
                    # Everything outside d's list is denied: what survives is r within that list.
                    inside = [p if wildcard_match(r, p) else r for p in d.resources if patterns_overlap(p, r)]
                    notes.append(f"narrowed by {d.describe()}")
                    work.extend(x for x in inside if x != r)
                    denied = True if inside and all(x != r for x in inside) else not inside
                    if denied:
                        break
                elif any(patterns_overlap(p, r) for p in d.resources):
                    notes.append(f"partly denied by {d.describe()}")
            if not denied:
                kept.extend(self._bounded(low, r, notes))
        if not kept:
            return None
        return Grant(stmt, name, tuple(dict.fromkeys(kept)), tuple(scoped), tuple(conds), notes)

    def _bounded(self, low: str, resource: str, notes: list[str]) -> list[str]:
        if not self.has_boundary:
            return [resource]
        out: list[str] = []
        for b in self.boundary_allows:
            if not self.index.matches(b, low):
                continue
            if b.not_resource or resource_covered(b.resources, False, resource):
                return [resource]
            narrower = [p for p in b.resources if wildcard_match(resource, p)]
            out.extend(narrower)
        if not out:
            notes.append("blocked by the permissions boundary")
        return out

    def candidate_actions(self, interesting: frozenset[str]) -> set[str]:
        """Which of ``interesting`` (lower-case) some Allow statement reaches, before Deny."""
        found: set[str] = set()
        for stmt in self.allows:
            reach = self.index.expanded(stmt)
            if stmt.not_action:
                found |= interesting - reach
            else:
                found |= interesting & reach if len(reach) > len(interesting) else reach & interesting
        return found

    def allowed_actions(self) -> dict[str, list[Grant]]:
        """Every known action granted, with its grants (used by needed/used comparisons)."""
        candidates: set[str] = set()
        for stmt in self.allows:
            candidates |= self.index.granted_set(stmt)
            if not stmt.not_action:
                candidates |= {a.lower() for a in stmt.actions if "*" not in a and "?" not in a}
        out: dict[str, list[Grant]] = {}
        for action in sorted(candidates):
            g = self.grants(action)
            if g:
                out[action] = g
        return out

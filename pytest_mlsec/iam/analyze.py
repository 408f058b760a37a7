"""The IAM rules, applied to an inventory: statement rules, escalation, trust, needed and used.

Statement rules run once per statement *per principal that holds it* (a Deny elsewhere in one
role can neutralise a grant that is live in another role sharing the managed policy); the
findings are merged per statement with the list of principals that really receive the grant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_mlsec.findings import Finding, Location, Severity
from pytest_mlsec.iam import rules as R
from pytest_mlsec.iam.actiondb import ActionDatabase, wildcard_match
from pytest_mlsec.iam.catalogue import (
    CREDENTIAL_ACTIONS,
    CRITICAL_SERVICES,
    DATA_ACTIONS,
    DATA_READ,
    ESCALATION_ACTIONS,
    ESCALATION_PATHS,
    NECESSARY_ON_STAR,
    SELF_SERVICE,
)
from pytest_mlsec.iam.catalogue import Path as EscPath
from pytest_mlsec.iam.evaluate import Grant, PrincipalView, StatementIndex, applicable, is_broad, key_scopes
from pytest_mlsec.iam.model import Policy, Principal, Statement
from pytest_mlsec.iam.resourcepolicy import resource_policy_findings
from pytest_mlsec.iam.trust import trust_findings
from pytest_mlsec.rules import Rule

_SERVICE_WILDCARD = re.compile(r"^([a-z0-9-]+):\*$", re.IGNORECASE)
ADMIN_PROBES = ("iam:attachrolepolicy", "s3:getobject", "ec2:runinstances")
SAMPLE = 12


# each path's action groups as sets: the relevance test runs for every path of every principal
# Bare documents: findings are not attributed to a named principal.
_DOCUMENT_KINDS = frozenset({"document", "trust-document", "resource-document"})
_PATH_GROUPS = tuple((path, tuple(frozenset(g) for g in path.groups)) for path in ESCALATION_PATHS)


def _short(items: Sequence[str], n: int = SAMPLE) -> str:
    shown = ", ".join(items[:n])
    return shown + (f" (+{len(items) - n} more)" if len(items) > n else "")


@dataclass
class _Pending:
    rule: Rule
    location: Location | Callable[[], Location]
    message: str
    evidence: dict[str, Any]
    key: str
    severity: Severity | None = None
    principals: list[str] = field(default_factory=list)
    candidate: bool = False  # made by a shared statement evaluation: real once a principal holds it
    holders: int = 0


@dataclass
class Needed:
    """Declared needs: (action pattern, resource patterns)."""

    entries: list[tuple[str, tuple[str, ...]]]

    def covers(self, action: str, resource: str) -> bool:
        return any(
            wildcard_match(a, action)
            and ((resource == "*" and "*" in rs) or any(wildcard_match(r, resource) for r in rs))
            for a, rs in self.entries
        )

    def action_needed(self, action: str) -> bool:
        return any(wildcard_match(a, action) for a, _ in self.entries)


def parse_needed(value: Any) -> Needed:
    """Strings ``"s3:GetObject"`` / ``"s3:GetObject arn:aws:s3:::b/*"``, dicts with Action/Resource, or a policy."""
    entries: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(value, Mapping) and "Statement" in value:
        stmts = value["Statement"]
        value = stmts if isinstance(stmts, list) else [stmts]
    if isinstance(value, (str, Mapping)):
        value = [value]
    for item in value or ():
        if isinstance(item, str):
            parts = item.split()
            if parts:
                entries.append((parts[0], tuple(parts[1:]) or ("*",)))
        elif isinstance(item, Mapping):
            actions = item.get("Action", [])
            resources = item.get("Resource", "*")
            actions = [actions] if isinstance(actions, str) else list(actions)
            resources = (resources,) if isinstance(resources, str) else tuple(resources)
            entries.extend((str(a), tuple(map(str, resources))) for a in actions)
        elif isinstance(item, (tuple, list)) and item:
            entries.append((str(item[0]), tuple(map(str, item[1:])) or ("*",)))
    return Needed(entries)


def used_actions(used: Any) -> dict[str, set[str]]:
    """Observed calls -> {action lower: {resources}} from a UsageRecorder or an iterable of calls/strings."""
    calls = getattr(used, "calls", used)
    out: dict[str, set[str]] = {}
    for call in calls or ():
        if isinstance(call, str):
            action, resource = call, None
        elif hasattr(call, "action"):
            action, resource = call.action, getattr(call, "resource", None)
        elif isinstance(call, (tuple, list)) and len(call) >= 3:
            action, resource = call[2], call[3] if len(call) > 3 else None
        else:
            continue
        out.setdefault(str(action).lower(), set()).add(resource or "*")
    return out


class Analyzer:
    """Collects findings over principals; call :meth:`findings` at the end."""

    def __init__(
        self,
        db: ActionDatabase,
        *,
        needed: Needed | None = None,
        used: dict[str, set[str]] | None = None,
        account_id: str | None = None,
    ) -> None:
        self.db = db
        self.index = StatementIndex(db)
        self._bare = PrincipalView(Principal(name="", kind="bare"), self.index)
        self.needed = needed
        self.used = used
        self.account_id = account_id
        self._pending: dict[tuple[Any, ...], _Pending] = {}
        self._grant_cache: dict[tuple[int, str], Grant | None] = {}
        self._scope_grants: dict[tuple[Any, str], Grant | None] = {}
        self._scopes: dict[int, tuple[Any, ...]] = {}
        self._seen_policies: set[int] = set()
        self.minimal_policies: dict[str, Any] = {}
        self._touched: list[tuple[tuple[Any, ...], frozenset[str] | None]] | None = None
        self._hint: frozenset[str] | None = None
        self._holders: dict[str, list[Statement]] | None = None
        self._esc_grants: dict[str, list[Grant]] | None = None
        self._memo: dict[int, tuple[list[tuple[tuple[Any, ...], frozenset[str] | None]], bool]] = {}
        self._wp = db.by_level("W") | db.by_level("P")
        self._risky = self._wp | DATA_READ
        self._perms = db.by_level("P")
        self._writes: dict[str, frozenset[str]] = {}
        self._summaries: dict[int, tuple[frozenset[str], list[str]]] = {}
        self._unknown: dict[str, bool] = {}

    # ------------------------------------------------------------------ plumbing
    def _add(self, ident: tuple[Any, ...], pending: _Pending, principal: Principal | None) -> None:
        if self._touched is not None:  # shared statement evaluation: principals are attached later
            self._touched.append((ident, self._hint))
            self._hint = None
            if ident not in self._pending:
                pending.candidate = True
                self._pending[ident] = pending
            return
        self._hint = None
        known = self._pending.get(ident)
        if known is None:
            self._pending[ident] = known = pending
        if principal is not None and principal.kind not in _DOCUMENT_KINDS:
            label = principal.arn or principal.name
            if label not in known.principals:
                known.principals.append(label)

    def findings(self) -> list[Finding]:
        out = []
        for p in self._pending.values():
            if p.candidate and not p.holders:
                continue
            evidence = dict(p.evidence)
            if p.principals:
                evidence["principals"] = p.principals[:20]
                evidence["principal_count"] = len(p.principals)
            location = p.location() if callable(p.location) else p.location
            out.append(p.rule.finding(location, p.message, severity=p.severity, evidence=evidence, key=p.key))
        return out

    def _base_grant(self, stmt: Statement, action: str) -> Grant | None:
        """The grant of ``action`` by ``stmt`` before any Deny or boundary (shared by every principal).

        Without Denies a grant depends only on the statement's resource element and conditions, which
        repeat across policies (the same bucket, the same PassRole scope): computed once per such
        scope and action, then bound to each statement."""
        ck = (id(stmt), action)
        if ck in self._grant_cache:
            return self._grant_cache[ck]
        scope = self._scopes.get(id(stmt))
        if scope is None:
            scope = self._scopes[id(stmt)] = (
                stmt.not_resource,
                stmt.resources,
                tuple((op, tuple(block.items())) for op, block in stmt.conditions.items()),
            )
        sk = (scope, action)
        if sk in self._scope_grants:
            proto = self._scope_grants[sk]
            grant = (
                None
                if proto is None
                else Grant(stmt, proto.action, proto.resources, proto.scoped_by, proto.conditions, list(proto.notes))
            )
        else:
            info = self.db.info(action)
            grant = self._scope_grants[sk] = self._bare._grant(stmt, info.name if info else action, info)
        self._grant_cache[ck] = grant
        return grant

    def _grant(self, view: PrincipalView, stmt: Statement, action: str) -> Grant | None:
        """The grant of ``action`` by ``stmt`` for this principal, after its Denies and boundary."""
        grant = self._base_grant(stmt, action)
        if grant is None or (not view.denies and not view.has_boundary):
            return grant
        filt = view.filters()
        if action in filt.full_deny or (filt.boundary is not None and action not in filt.boundary):
            return None
        if action in filt.scoped_deny or filt.boundary is not None:
            info = self.db.info(action)
            return view._grant(stmt, info.name if info else action, info)
        return grant

    def _live(self, view: PrincipalView, stmt: Statement, actions: frozenset[str]) -> frozenset[str]:
        """Which of ``actions`` (granted by ``stmt``) survive this principal's Denies and boundary."""
        if not view.denies and not view.has_boundary:
            return actions
        filt = view.filters()
        live = set(actions - filt.full_deny)
        if filt.boundary is not None:
            live &= filt.boundary
        for a in live & filt.scoped_deny if filt.boundary is None else set(live):
            if self._grant(view, stmt, a) is None:
                live.discard(a)
        return frozenset(live)

    @staticmethod
    def _where(stmt: Statement, principal: Principal) -> Callable[[], Location]:
        """The statement's location, computed only if a finding is made (line lookups cost a scan)."""
        policy = stmt.policy
        path = (policy.path if policy else None) or principal.path
        resource = (policy.arn if policy and policy.arn else None) or principal.arn
        return lambda: Location(path=path, line=stmt.line(), resource=resource)

    # ------------------------------------------------------------------ entry point
    def principal(self, principal: Principal) -> None:
        for policy in [
            *principal.policies,
            *([principal.boundary] if principal.boundary else []),
            *([principal.trust] if principal.trust else []),
            *([principal.resource_policy] if principal.resource_policy else []),
        ]:
            self._policy_problems(policy, principal)
        for arn in principal.missing_policies:
            self._add(
                ("missing", principal.name, principal.path, arn),
                _Pending(
                    R.MISSING_POLICY,
                    Location(path=principal.path, line=principal.line(), resource=principal.arn),
                    f"{principal.describe()}: attached policy {arn} is not in the input; its grants were not evaluated",
                    {"policy_arn": arn},
                    key=f"{principal.name}:{arn}",
                ),
                None,
            )
        view = PrincipalView(principal, self.index)
        admin = False
        for stmt in view.allows:
            admin = self._statement_once(view, stmt) or admin
        if not admin and view.allows:
            self._escalation(view)
        if principal.trust is not None:
            for rule, stmt, message, evidence, key in trust_findings(principal, self.account_id):
                self._add(
                    (rule.id, id(stmt), key),
                    _Pending(rule, self._where(stmt, principal), message, evidence, key=f"{principal.name}:{key}"),
                    None,
                )
        if principal.resource_policy is not None:
            found = resource_policy_findings(principal.resource_policy, self.account_id, self.db)
            for rule, stmt, message, evidence, key, severity in found:
                self._add(
                    (rule.id, id(stmt), key),
                    _Pending(
                        rule,
                        self._where(stmt, principal),
                        message,
                        evidence,
                        key=f"{principal.name}:{key}",
                        severity=severity,
                    ),
                    None,
                )
        if self.needed is not None and view.allows:
            self._beyond_needed(view)
        if self.used is not None and view.allows:
            self._unused(view)

    def _policy_problems(self, policy: Policy, principal: Principal) -> None:
        if id(policy) in self._seen_policies:
            return
        self._seen_policies.add(id(policy))
        if policy.problems:
            self._add(
                ("invalid", id(policy)),
                _Pending(
                    R.INVALID_POLICY,
                    Location(
                        path=policy.path or principal.path,
                        line=policy.line_of(policy.pointer),
                        resource=policy.arn or principal.arn,
                    ),
                    f"{policy.describe()} is malformed: {'; '.join(policy.problems[:5])}",
                    {"problems": policy.problems[:20]},
                    key=f"{policy.name}:{policy.kind}",
                ),
                principal,
            )
        for stmt in policy.statements:
            unknown = [a for a in stmt.actions if self._is_unknown(a)]
            if unknown and policy.kind != "trust":
                self._add(
                    ("unknown", id(stmt)),
                    _Pending(
                        R.UNKNOWN_ACTION,
                        self._where(stmt, principal),
                        f"{stmt.describe()}: {_short(unknown)} match no action in the IAM database ({self.db.source})",
                        {"actions": unknown},
                        key=f"{policy.name}:{','.join(unknown)}",
                    ),
                    None,
                )

    def _is_unknown(self, action: str) -> bool:
        known = self._unknown.get(action)
        if known is None:
            wild = "*" in action or "?" in action
            known = self._unknown[action] = not self.db.expand(action) or (not wild and not self.db.known(action))
        return known

    # ------------------------------------------------------------------ statement rules
    def _statement_once(self, view: PrincipalView, stmt: Statement) -> bool:
        """Statement rules, evaluated once per statement and shared by every principal holding it.

        The shared evaluation ignores Denies; each finding remembers the actions that triggered it,
        so a principal with Denies receives the finding only if some of those actions survive its
        unconditional, all-resource Denies. Resource-scoped Denies and boundaries are evaluated
        exactly, per principal.
        """
        principal = view.principal
        memo = self._memo.get(id(stmt))
        if memo is None:
            self._touched = []
            try:
                admin = self._statement(view.without_denies(), stmt)
                memo = self._memo[id(stmt)] = (self._touched, admin)
            finally:
                self._touched = None
        entries, admin = memo
        if view.denies or view.has_boundary:
            filt = view.filters()
            exact = view.has_boundary or any(
                hint is None or not hint.isdisjoint(filt.scoped_deny) for _, hint in entries
            )
            if exact and entries:
                return self._statement_exact(view, stmt)
            entries = [(ident, hint) for ident, hint in entries if hint is None or not hint <= filt.full_deny]
            admin = admin and filt.full_deny.isdisjoint(ADMIN_PROBES)
        label = principal.arn or principal.name
        for ident, _ in entries:
            pending = self._pending[ident]
            pending.holders += 1
            if principal.kind not in _DOCUMENT_KINDS and label not in pending.principals:
                pending.principals.append(label)
        return admin

    def _statement_exact(self, view: PrincipalView, stmt: Statement) -> bool:
        """Full evaluation with this principal's Denies and boundary (rare: scoped Denies, boundaries)."""
        saved = self._pending
        self._pending = {}
        try:
            admin = self._statement(view, stmt)
            fresh = self._pending
        finally:
            self._pending = saved
        label = view.principal.arn or view.principal.name
        for ident, pending in fresh.items():
            known = self._pending.setdefault(ident, pending)
            known.holders += 1
            if view.principal.kind not in _DOCUMENT_KINDS and label not in known.principals:
                known.principals.append(label)
        return admin

    def _statement(self, view: PrincipalView, stmt: Statement) -> bool:
        """Apply the statement rules; returns True when the statement makes the principal an admin."""
        principal = view.principal
        where = self._where(stmt, principal)
        sid = (id(stmt),)
        policy_name = stmt.policy.name if stmt.policy else "policy"
        if not stmt.not_action and any(a.strip() in ("*", "*:*") for a in stmt.actions):
            grants = [self._grant(view, stmt, a) for a in ADMIN_PROBES]
            if all(g is not None and g.broad for g in grants):
                self._hint = frozenset(ADMIN_PROBES)
                self._add(
                    ("admin", *sid),
                    _Pending(
                        R.FULL_ADMIN,
                        where,
                        f'{stmt.describe()} allows Action "*" on {_short(list(stmt.resources))}: '
                        "full administrator access",
                        {
                            "statement": stmt.source_json(),
                            "expanded_actions": len(self.db.names),
                            "conditioned": bool(stmt.conditions),
                        },
                        key=f"{policy_name}:{stmt.index}",
                    ),
                    principal,
                )
                return True
        granted = self.index.granted_set(stmt)
        if stmt.not_action:
            live = self._live(view, stmt, granted)
            perms = sorted(live & self._perms)
            self._hint = live
            self._add(
                ("notaction", *sid),
                _Pending(
                    R.ALLOW_NOT_ACTION,
                    where,
                    f"{stmt.describe()} allows every action except {_short(list(stmt.actions))}: {len(live)} actions"
                    + (
                        f", including permissions management ({_short([self.db.canonical(a) for a in perms[:6]], 5)})"
                        if perms
                        else ""
                    ),
                    {
                        "not_action": list(stmt.actions),
                        "granted_count": len(live),
                        "permissions_management": [self.db.canonical(a) for a in perms[:50]],
                        "resources": list(stmt.resources),
                    },
                    key=f"{policy_name}:{stmt.index}",
                    severity=Severity.HIGH if perms else Severity.MEDIUM,
                ),
                principal,
            )
        if stmt.not_resource:
            self._hint = granted
            self._add(
                ("notresource", *sid),
                _Pending(
                    R.ALLOW_NOT_RESOURCE,
                    where,
                    f"{stmt.describe()} allows {_short(list(stmt.actions))} on every resource except "
                    f"{_short(list(stmt.resources))}",
                    {"actions": list(stmt.actions), "not_resource": list(stmt.resources)},
                    key=f"{policy_name}:{stmt.index}",
                ),
                principal,
            )
        if not stmt.not_action:
            self._wildcards(view, stmt, where, policy_name)
        self._broad_set(view, stmt, granted & DATA_ACTIONS, R.DATA_ALL_RESOURCES, "data action", where, policy_name)
        self._broad_set(
            view, stmt, granted & CREDENTIAL_ACTIONS, R.CREDENTIALS, "credential-returning action", where, policy_name
        )
        if "iam:passrole" in granted and (stmt.not_resource or any(is_broad(r) for r in stmt.resources)):
            g = self._grant(view, stmt, "iam:passrole")
            if g is not None and g.broad:
                self._hint = frozenset({"iam:passrole"})
                self._add(
                    ("passrole", *sid),
                    _Pending(
                        R.PASSROLE_UNSCOPED,
                        where,
                        f"{stmt.describe()} allows iam:PassRole on {_short(list(g.resources))} without "
                        "iam:PassedToService: any role can be handed to any service",
                        {
                            "statement": stmt.source_json(),
                            "resources": list(g.resources),
                            "conditioned": g.conditioned,
                            "conditions": list(g.conditions),
                        },
                        key=f"{policy_name}:{stmt.index}",
                    ),
                    principal,
                )
        if "sts:assumerole" in granted and (stmt.not_resource or any(is_broad(r) for r in stmt.resources)):
            self._assume_any(view, stmt, where, policy_name)
        return False

    def _assume_any(
        self, view: PrincipalView, stmt: Statement, where: Callable[[], Location], policy_name: str
    ) -> None:
        """sts:AssumeRole on every role: the principal becomes every role that trusts its account."""
        g = self._grant(view, stmt, "sts:assumerole")
        if g is None or not g.broad:
            return
        self._hint = frozenset({"sts:assumerole"})
        self._add(
            ("assumeany", id(stmt)),
            _Pending(
                R.ASSUME_ANY_ROLE,
                where,
                f"{stmt.describe()} allows sts:AssumeRole on {_short(list(g.resources))}: the principal can assume "
                "every role whose trust policy allows its account (e.g. trust in :root)"
                + (f" (conditioned: {'; '.join(g.conditions)})" if g.conditioned else ""),
                {
                    "statement": stmt.source_json(),
                    "resources": list(g.resources),
                    "conditioned": g.conditioned,
                    "conditions": list(g.conditions),
                },
                key=f"{policy_name}:{stmt.index}",
                # A condition that does not scope the role (MFA, source IP) still narrows who can use it.
                severity=Severity.MEDIUM if g.conditioned else Severity.HIGH,
            ),
            view.principal,
        )

    def _wildcards(self, view: PrincipalView, stmt: Statement, where: Callable[[], Location], policy_name: str) -> None:
        principal = view.principal
        for pattern in stmt.actions:
            if ("*" not in pattern and "?" not in pattern) or pattern.strip() in ("*", "*:*"):
                continue
            expanded_set = self.db.expand(pattern)
            m = _SERVICE_WILDCARD.match(pattern.strip())
            if m:
                service = m.group(1).lower()
                writes = self._writes.get(pattern.lower())
                if writes is None:
                    writes = self._writes[pattern.lower()] = (expanded_set & self._wp) or expanded_set
                live_set = self._live(view, stmt, writes)
                if not live_set:
                    continue
                summary = self._summaries.get(id(live_set))
                if summary is None or summary[0] is not live_set:
                    summary = self._summaries[id(live_set)] = (
                        live_set,
                        [self.db.canonical(a) for a in sorted(live_set)[:40]],
                    )
                live_names = summary[1]
                broad = any(is_broad(r) for r in (("*",) if stmt.not_resource else stmt.resources))
                severity = (
                    Severity.CRITICAL
                    if service in CRITICAL_SERVICES and broad
                    else Severity.HIGH
                    if broad
                    else Severity.MEDIUM
                )
                self._hint = live_set
                self._add(
                    ("svcwild", id(stmt), pattern.lower()),
                    _Pending(
                        R.SERVICE_WILDCARD,
                        where,
                        f"{stmt.describe()} allows {pattern} on {_short(list(stmt.resources))}: all "
                        f"{len(expanded_set)} {service} actions, {len(live_set)} of them write or permissions "
                        "management",
                        {
                            "pattern": pattern,
                            "expanded_count": len(expanded_set),
                            "write_or_permissions": live_names,
                            "resources": list(stmt.resources),
                            "conditioned": bool(stmt.conditions),
                        },
                        key=f"{policy_name}:{stmt.index}:{pattern.lower()}",
                        severity=severity,
                    ),
                    principal,
                )
                continue
            risky: list[str] = []
            perms = broad = False
            candidates = expanded_set & self._risky
            for a in sorted(self._live(view, stmt, candidates)):
                level = self.db.level(a)
                g = self._grant(view, stmt, a)
                if g is None:
                    continue
                risky.append(a)
                perms = perms or level == "P"
                broad = broad or g.broad
            if risky:
                self._hint = frozenset(risky)
                self._add(
                    ("prefix", id(stmt), pattern.lower()),
                    _Pending(
                        R.PREFIX_WILDCARD,
                        where,
                        f"{stmt.describe()}: {pattern} expands to {len(expanded_set)} actions, including "
                        f"{', '.join(self.db.canonical(a) for a in risky[:6])}"
                        + (f" (+{len(risky) - 6} more)" if len(risky) > 6 else ""),
                        {
                            "pattern": pattern,
                            "expanded": [self.db.canonical(a) for a in sorted(expanded_set)[:30]],
                            "risky": [self.db.canonical(a) for a in risky[:60]],
                            "access_levels": sorted({info.level_name for a in risky if (info := self.db.info(a))}),
                            "resources": list(stmt.resources),
                        },
                        key=f"{policy_name}:{stmt.index}:{pattern.lower()}",
                        severity=Severity.HIGH if perms else Severity.MEDIUM if broad else Severity.LOW,
                    ),
                    principal,
                )

    def _broad_set(  # noqa: PLR0917 - internal helper, called twice
        self,
        view: PrincipalView,
        stmt: Statement,
        actions: Iterable[str],
        rule: Rule,
        what: str,
        where: Callable[[], Location],
        policy_name: str,
    ) -> None:
        if not stmt.not_resource and not any(is_broad(r) for r in stmt.resources):
            return  # nothing here reaches every resource: no per-action work needed
        hits: list[Grant] = []
        for a in sorted(actions):
            if a in NECESSARY_ON_STAR:
                continue
            g = self._grant(view, stmt, a)
            if g is None or not g.broad:
                continue
            if a in SELF_SERVICE and all("${aws:username}" in r.lower() for r in g.resources):
                continue
            hits.append(g)
        if not hits:
            return
        names = [g.action for g in hits]
        self._hint = frozenset(n.lower() for n in names)
        self._add(
            (rule.id, id(stmt)),
            _Pending(
                rule,
                where,
                f"{stmt.describe()} allows {what}s {_short(names, 6)} on {_short(list(hits[0].resources), 3)}"
                + (
                    " (conditioned, but the condition does not scope the resources)"
                    if any(g.conditioned for g in hits)
                    else ""
                ),
                {
                    "actions": names,
                    "resources": list(hits[0].resources),
                    "conditioned": any(g.conditioned for g in hits),
                    "conditions": list(hits[0].conditions),
                    "statement": stmt.source_json(),
                },
                key=f"{policy_name}:{stmt.index}",
            ),
            view.principal,
        )

    # ------------------------------------------------------------------ escalation
    def _passrole(self, view: PrincipalView, service: str) -> list[Grant]:
        out = []
        for g in self._grants(view, "iam:passrole"):
            if not any(is_broad(r) for r in g.resources):
                continue
            ok = True
            for op, key, values in g.statement.condition_keys():
                info = self.db.info("iam:PassRole")
                if not key_scopes(op, key, values, info):
                    continue
                if key.lower() == "iam:passedtoservice":
                    if not any(wildcard_match(v, service) for v in values):
                        ok = False
                else:
                    ok = False
            if ok:
                out.append(g)
        return out

    def _grants(self, view: PrincipalView, action: str) -> list[Grant]:
        """Every effective grant of ``action`` for this principal (base grants shared across principals)."""
        low = action.lower()
        memo = self._esc_grants
        if memo is not None and low in memo:  # escalation paths share actions: one lookup per principal
            return memo[low]
        out = []
        holders = self._holders.get(low) if self._holders is not None else None
        for stmt in holders if holders is not None else view.allows:
            if holders is not None or self.index.matches(stmt, low):
                g = self._grant(view, stmt, low)
                if g is not None:
                    out.append(g)
        if memo is not None:
            memo[low] = out
        return out

    def _escalation(self, view: PrincipalView) -> None:
        holders: dict[str, list[Statement]] = {}
        for stmt in view.allows:
            for a in self.index.granted_set(stmt) & ESCALATION_ACTIONS:
                holders.setdefault(a, []).append(stmt)
        relevant = set(holders)
        if not relevant:
            return
        self._holders = holders
        self._esc_grants = {}
        try:
            self._escalation_paths(view, relevant)
        finally:
            self._holders = None
            self._esc_grants = None

    def _escalation_paths(self, view: PrincipalView, relevant: set[str]) -> None:
        found: list[tuple[EscPath, list[Grant]]] = []
        passroles: dict[str, list[Grant]] = {}  # several paths pass a role to the same service
        for path, group_sets in _PATH_GROUPS:
            if any(relevant.isdisjoint(g) for g in group_sets):
                continue
            chain: list[Grant] = []
            if path.passrole is not None:
                pr = passroles.get(path.passrole)
                if pr is None:
                    pr = passroles[path.passrole] = self._passrole(view, path.passrole)
                if not pr:
                    continue
                chain.append(pr[0])
            complete = True
            for group in path.groups:
                grant = self._group_grant(view, path, group, relevant)
                if grant is None:
                    complete = False
                    break
                chain.append(grant)
            if complete:
                found.append((path, chain))
        if found:
            self._escalation_finding(view, found)

    def _group_grant(
        self, view: PrincipalView, path: EscPath, group: tuple[str, ...], relevant: set[str]
    ) -> Grant | None:
        for a in group:
            if a not in relevant:
                continue
            for g in self._grants(view, a):
                if a in path.broad and not g.broad:
                    continue
                if a in SELF_SERVICE and all("${aws:username}" in r.lower() for r in g.resources):
                    continue
                return g
        return None

    def _escalation_finding(self, view: PrincipalView, found: list[tuple[EscPath, list[Grant]]]) -> None:
        """One finding per principal, listing every path (the first one spelled out in the message)."""
        principal = view.principal
        chains = []
        severity = Severity.HIGH
        for path, chain in found:
            steps = [
                f"{g.statement.describe()} grants {g.action} on {_short(list(g.resources), 2)}"
                + (f" (conditioned: {'; '.join(g.conditions)})" if g.conditioned else "")
                for g in chain
            ]
            chains.append(" + ".join(steps) + f" -> {path.outcome}")
            if all(g.broad or g.action.lower() == "iam:passrole" for g in chain):
                severity = Severity.CRITICAL
        first = found[0][1][0].statement
        more = (
            f" (and {len(found) - 1} more path(s): {', '.join(p.id for p, _ in found[1:])})" if len(found) > 1 else ""
        )
        ids = [p.id for p, _ in found]
        self._add(
            ("esc", principal.path, principal.name, principal.arn),
            _Pending(
                R.ESCALATION,
                Location(
                    path=(first.policy.path if first.policy else None) or principal.path,
                    line=first.line(),
                    resource=principal.arn,
                ),
                f"{principal.describe()}: {chains[0]}{more}",
                {
                    "paths": ids,
                    "chains": chains,
                    "sources": sorted({p.source for p, _ in found}),
                    "conditioned": any(g.conditioned for _, chain in found for g in chain),
                },
                key=f"{principal.name}:{','.join(ids)}",
                severity=severity,
            ),
            None,
        )

    # ------------------------------------------------------------------ needed / used
    def _granted_actions(self, view: PrincipalView, stmt: Statement) -> frozenset[str]:
        """Every action ``stmt`` really grants this principal: set operations, no per-action grants
        unless the statement names specific resources (then the ARN type must fit the action)."""
        reach = self._live(view, stmt, self.index.granted_set(stmt))
        if stmt.not_resource or any(set(r) <= {"*", "?"} for r in stmt.resources):
            return reach
        out = set()
        for a in reach:
            info = self.db.info(a)
            if info is None or (info.supports_resources and any(applicable(info, r) for r in stmt.resources)):
                out.add(a)
        return frozenset(out)

    def _beyond_needed(self, view: PrincipalView) -> None:
        assert self.needed is not None
        needed_set = frozenset().union(*(self.db.expand(a) for a, _ in self.needed.entries))
        per_stmt: list[tuple[Statement, list[str], list[str]]] = []
        for stmt in view.allows:
            reach = self._granted_actions(view, stmt)
            actions = sorted(self.db.canonical(a) for a in reach - needed_set)
            resources = []
            for a in sorted(reach & needed_set):
                g = self._grant(view, stmt, a)
                if g is None:
                    continue
                extra = [r for r in g.resources if not self.needed.covers(g.action, r)]
                if extra:
                    resources.append(f"{g.action} on {', '.join(extra)}")
            per_stmt.append((stmt, actions, resources))
        for stmt, actions, resources in per_stmt:
            if not actions and not resources:
                continue
            parts = []
            if actions:
                parts.append(f"{len(actions)} action(s) not needed: {_short(actions, 8)}")
            if resources:
                parts.append(f"{len(resources)} grant(s) on resources beyond the needed ones: {_short(resources, 4)}")
            self._add(
                ("needed", view.principal.name, id(stmt)),
                _Pending(
                    R.BEYOND_NEEDED,
                    self._where(stmt, view.principal),
                    f"{stmt.describe()}: " + "; ".join(parts),
                    {
                        "extra_actions": actions[:200],
                        "extra_action_count": len(actions),
                        "extra_resources": resources[:100],
                        "needed": [f"{a} {' '.join(r)}" for a, r in self.needed.entries][:100],
                    },
                    key=f"{view.principal.name}:{stmt.policy.name if stmt.policy else ''}:{stmt.index}",
                ),
                None,
            )

    def _unused(self, view: PrincipalView) -> None:
        assert self.used is not None
        used = self.used
        per_stmt: list[tuple[Statement, list[str]]] = []
        used_keys = frozenset(used)
        for stmt in view.allows:
            unused = self._granted_actions(view, stmt) - used_keys
            if unused:
                per_stmt.append((stmt, sorted(self.db.canonical(a) for a in unused)))
        minimal = minimal_policy(used, self.db)
        self.minimal_policies[view.principal.arn or view.principal.name] = minimal
        for stmt, actions in per_stmt:
            self._add(
                ("unused", view.principal.name, id(stmt)),
                _Pending(
                    R.UNUSED,
                    self._where(stmt, view.principal),
                    f"{stmt.describe()}: {len(actions)} granted action(s) never used: {_short(actions, 8)}",
                    {
                        "unused_actions": actions[:200],
                        "unused_count": len(actions),
                        "used_actions": sorted(self.db.canonical(a) for a in used)[:200],
                        "minimal_policy": json.dumps(minimal, indent=2),
                    },
                    key=f"{view.principal.name}:{stmt.policy.name if stmt.policy else ''}:{stmt.index}",
                ),
                None,
            )


def minimal_policy(used: Mapping[str, set[str]], db: ActionDatabase) -> dict[str, Any]:
    """The smallest policy allowing exactly the observed calls, one statement per resource set."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for action, resources in sorted(used.items()):
        info = db.info(action)
        res = ("*",) if info is not None and not info.supports_resources else tuple(sorted(resources)) or ("*",)
        if "*" in res:
            res = ("*",)
        groups.setdefault(res, []).append(db.canonical(action))
    statements = [
        {"Effect": "Allow", "Action": sorted(actions), "Resource": list(res) if len(res) > 1 else res[0]}
        for res, actions in sorted(groups.items())
    ]
    return {"Version": "2012-10-17", "Statement": statements}

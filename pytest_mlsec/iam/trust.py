"""Trust policies: who may assume the role.

Public trust (``"*"`` or ``{"AWS": "*"}``) is fine only with a condition that pins the caller to
an organisation, account or source; another account's principal needs ``sts:ExternalId`` (or an
organisation condition) to rule out the confused deputy. Same-account and service principals
are fine. OIDC federation without a ``:sub`` condition lets any identity of that provider in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_mlsec.iam import rules as R
from pytest_mlsec.iam.actiondb import wildcard_match
from pytest_mlsec.iam.model import NEGATED_OPERATORS, Principal, Statement
from pytest_mlsec.rules import Rule

PINNING_KEYS = frozenset(
    {
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:principalarn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceidentity",
    }
)
ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths", "aws:sourceorgid", "aws:sourceorgpaths"})
_ACCOUNT = re.compile(r"^(?:arn:aws[\w-]*:(?:iam|sts)::)?(\d{12})(?::|$)")

TrustFinding = tuple[Rule, Statement, str, dict[str, Any], str]


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _positive_keys(stmt: Statement) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for op, key, values in stmt.condition_keys():
        low = op.lower()
        if any(n in low for n in NEGATED_OPERATORS) or low.startswith("null") or low.endswith("ifexists"):
            continue
        if values and not all(v.strip() in ("*", "") for v in values):
            out[key.lower()] = values
    return out


def _assumes(stmt: Statement) -> bool:
    return (
        stmt.allow
        and not stmt.not_action
        and any(
            wildcard_match(a, "sts:AssumeRole")
            or wildcard_match(a, "sts:AssumeRoleWithWebIdentity")
            or wildcard_match(a, "sts:AssumeRoleWithSAML")
            for a in stmt.actions
        )
    )


def trust_findings(principal: Principal, account_id: str | None) -> Iterator[TrustFinding]:
    """Findings for the trust policy of ``principal`` (own account from its ARN or ``account_id``)."""
    trust = principal.trust
    if trust is None:
        return
    own = principal.account or account_id
    for stmt in trust.statements:
        if not _assumes(stmt):
            continue
        keys = _positive_keys(stmt)
        raw = stmt.principal
        if stmt.not_principal:
            yield (
                R.TRUST_PUBLIC,
                stmt,
                f"{stmt.describe()} uses NotPrincipal with Allow: everyone else may assume the role",
                {"not_principal": raw},
                f"{stmt.index}:notprincipal",
            )
            continue
        aws: list[str] = []
        federated: list[str] = []
        if raw == "*":
            aws = ["*"]
        elif isinstance(raw, Mapping):
            aws = _values(raw.get("AWS"))
            federated = _values(raw.get("Federated"))
        if any(a.strip() == "*" for a in aws) and not (keys.keys() & PINNING_KEYS):
            yield (
                R.TRUST_PUBLIC,
                stmt,
                f"{stmt.describe()}: Principal {raw!r} with no organisation/account/source condition: any AWS "
                "account can assume this role",
                {"principal": raw, "conditions": sorted(keys)},
                f"{stmt.index}:public",
            )
        for fed in federated:
            if "oidc" in fed or fed.endswith(("token.actions.githubusercontent.com", "gitlab.com", "app.terraform.io")):
                provider = fed.split("oidc-provider/", 1)[-1]
                if not any(k.endswith(":sub") for k in keys) and not any(k.startswith("aws:") for k in keys):
                    yield (
                        R.TRUST_PUBLIC,
                        stmt,
                        f"{stmt.describe()}: federated principal {provider} with no {provider}:sub condition: "
                        "any identity of that provider can assume the role",
                        {"federated": fed, "conditions": sorted(keys)},
                        f"{stmt.index}:oidc:{provider}",
                    )
        foreign = []
        for a in aws:
            m = _ACCOUNT.match(a.strip())
            if m and m.group(1) != own:
                foreign.append(a)
        if foreign and "sts:externalid" not in keys and not (keys.keys() & ORG_KEYS):
            note = "" if own else " (the role's own account is unknown: pass account_id= to exempt same-account trust)"
            yield (
                R.TRUST_CROSS_ACCOUNT,
                stmt,
                f"{stmt.describe()}: account(s) {', '.join(foreign)} may assume the role without sts:ExternalId" + note,
                {"principals": foreign, "own_account": own, "conditions": sorted(keys)},
                f"{stmt.index}:cross:{','.join(sorted(foreign))}",
            )

"""Resource-based policies (S3 bucket, KMS key, SNS/SQS, ECR repository, model package group): who gets in.

Why a separate judgement: an identity policy says what *its* principal may do; a resource policy says
*who* may reach the resource, and it is the only thing standing between a model bucket and the
internet. A statement that allows ``Principal: "*"`` (or ``{"AWS": "*"}``) is public unless a condition
pins the caller to an organisation, account, source or VPC endpoint, or a Deny in the same policy
refuses every caller outside such a pin. Another account's principal is a cross-account grant.
Severity follows the damage: public read of data (model artifacts, images, secrets) or any write by
an outsider is CRITICAL (leak or tampering); the rest is HIGH. When the resource's own account is
unknown (no ``account_id=``, no account in the resource ARNs), one named account is taken to be the
owner (the default KMS key policy names its own root); two or more prove a foreign one.

Service principals (``{"Service": ...}``) are not judged here: they are AWS itself acting for a
configured feature; their confused-deputy risk needs the feature's context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_mlsec.findings import Severity
from pytest_mlsec.iam import rules as R
from pytest_mlsec.iam.actiondb import ActionDatabase, wildcard_match
from pytest_mlsec.iam.catalogue import DATA_READ
from pytest_mlsec.iam.model import NEGATED_OPERATORS, Policy, Statement
from pytest_mlsec.iam.trust import PINNING_KEYS
from pytest_mlsec.rules import Rule

# Keys that pin the caller of a resource policy (besides the trust-policy ones).
RESOURCE_PINNING_KEYS = PINNING_KEYS | frozenset(
    {"aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:userid", "kms:calleraccount", "aws:resourceaccount"}
)

# Reads of the data a resource holds, beyond the identity-policy data actions.
RESOURCE_DATA_READ = DATA_READ | frozenset(
    a.lower()
    for a in (
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectAttributes",
        "s3:GetObjectTorrent",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "sqs:ReceiveMessage",
        "sns:Subscribe",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:GenerateDataKey",
        "secretsmanager:GetSecretValue",
        "sagemaker:DescribeModelPackage",
        "sagemaker:CreateModel",
    )
)

# Trust-policy actions: a document whose principal statements use them is a trust policy.
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession")

_ACCOUNT = re.compile(r"^(?:arn:aws[\w-]*:(?:iam|sts)::)?(\d{12})(?::|$)")
_ARN_ACCOUNT = re.compile(r"^arn:aws[\w-]*:[\w-]+:[\w-]*:(\d{12}):")

ResourceFinding = tuple[Rule, Statement, str, dict[str, Any], str, Severity]


def is_trust_policy(policy: Policy) -> bool:
    """Is a document with principals a role trust policy (else it is a resource policy)?

    A trust policy's principal statements grant ``sts:AssumeRole*`` (named, or as ``sts:*``); a bucket
    or key policy grants the resource's own actions. ``Action: "*"`` says nothing either way: judged as
    a resource policy, where a public ``*`` is CRITICAL all the same."""
    for stmt in policy.statements:
        if (stmt.principal is None and not stmt.not_principal) or stmt.not_action:
            continue
        for a in stmt.actions:
            low = a.strip().lower()
            if low.startswith("sts:") and any(wildcard_match(low, t.lower()) for t in TRUST_ACTIONS):
                return True
    return False


def _values(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _pins(stmt: Statement, negated: bool) -> set[str]:
    """Pinning keys in ``stmt``'s conditions (positive operators for an Allow, negated for a Deny)."""
    out = set()
    for op, key, values in stmt.condition_keys():
        low = op.lower()
        neg = any(n in low for n in NEGATED_OPERATORS)
        if neg != negated or low.startswith("null") or (not negated and low.endswith("ifexists")):
            continue
        if key.lower() in RESOURCE_PINNING_KEYS and values and not all(v.strip() in ("*", "") for v in values):
            out.add(key.lower())
    return out


def _aws_principals(stmt: Statement) -> list[str]:
    raw = stmt.principal
    if raw == "*":
        return ["*"]
    if isinstance(raw, Mapping):
        return _values(raw.get("AWS"))
    return []


def _actions(stmt: Statement, db: ActionDatabase) -> frozenset[str]:
    if stmt.not_action:
        excluded: set[str] = set()
        for a in stmt.actions:
            excluded |= db.expand(a)
        return db.all_actions - excluded
    out: set[str] = set()
    for a in stmt.actions:
        out |= db.expand(a)
    return frozenset(out)


def _fenced(actions: frozenset[str], denies: list[tuple[Statement, frozenset[str]]]) -> bool:
    """Does a Deny to everyone outside a pin (``StringNotEquals aws:PrincipalOrgID``) cover ``actions``?"""
    covered: set[str] = set()
    for _, acts in denies:
        covered |= acts
    return bool(actions) and actions <= covered


def _own_account(policy: Policy, account_id: str | None) -> str | None:
    if account_id:
        return account_id
    for stmt in policy.statements:
        for r in stmt.resources:
            m = _ARN_ACCOUNT.match(r.strip())
            if m:
                return m.group(1)
    return None


def resource_policy_findings(policy: Policy, account_id: str | None, db: ActionDatabase) -> Iterator[ResourceFinding]:
    """Findings for one resource-based policy document."""
    own = _own_account(policy, account_id)
    denies = [
        (s, _actions(s, db))
        for s in policy.statements
        if not s.allow and "*" in _aws_principals(s) and _pins(s, negated=True) and not s.not_resource
    ]
    # With the own account unknown (an S3 ARN names none), a single named account is most likely the
    # owner (the default key policy trusts its own :root): only two or more prove a foreign one.
    named = {
        m.group(1)
        for s in policy.statements
        if s.allow
        for a in _aws_principals(s)
        if (m := _ACCOUNT.match(a.strip())) is not None
    }
    for stmt in policy.statements:
        if not stmt.allow:
            continue
        actions = _actions(stmt, db)
        if not actions or _pins(stmt, negated=False) or _fenced(actions, denies):
            continue
        aws = _aws_principals(stmt)
        # AWS accepts "*" only alone; a wildcard inside an ARN (arn:aws:iam::*:root) is read the widest way.
        public = stmt.not_principal or any("*" in a for a in aws)
        write = sorted(a for a in actions if db.level(a) in ("W", "P"))
        reads = sorted(a for a in actions if a in RESOURCE_DATA_READ)
        sample = [db.canonical(a) for a in (write or reads or sorted(actions))[:5]]
        evidence: dict[str, Any] = {
            "principal": stmt.principal,
            "actions": list(stmt.actions),
            "resources": list(stmt.resources),
            "write_actions": [db.canonical(a) for a in write[:20]],
            "data_read_actions": [db.canonical(a) for a in reads[:20]],
            "statement": stmt.source_json(),
        }
        what = "write" if write else "read data" if reads else "access"
        if public:
            who = "everyone except the listed principals" if stmt.not_principal else f"Principal {stmt.principal!r}"
            yield (
                R.RESOURCE_POLICY_PUBLIC,
                stmt,
                f"{stmt.describe()}: {who} may {what} ({', '.join(sample)}) on "
                f"{', '.join(stmt.resources[:3]) or 'the resource'} with no organisation/account/source/VPC "
                "condition: the resource is public",
                evidence,
                f"{stmt.index}:public",
                Severity.CRITICAL if (write or reads) else Severity.HIGH,
            )
            continue
        foreign = []
        for a in aws:
            m = _ACCOUNT.match(a.strip())
            if m and m.group(1) != own:
                foreign.append(a)
        if not foreign or (own is None and len(named) < 2):
            continue
        note = (
            ""
            if own
            else f" (the resource's own account is unknown, but of the {len(named)} accounts named at least "
            f"{len(named) - 1} are foreign: pass account_id= to exempt the own one)"
        )
        yield (
            R.RESOURCE_POLICY_CROSS_ACCOUNT,
            stmt,
            f"{stmt.describe()}: account(s) {', '.join(foreign)} may {what} ({', '.join(sample)}) on "
            f"{', '.join(stmt.resources[:3]) or 'the resource'} with no organisation/account/source condition" + note,
            {**evidence, "principals": foreign, "own_account": own},
            f"{stmt.index}:cross:{','.join(sorted(foreign))}",
            Severity.CRITICAL if write else Severity.HIGH,
        )

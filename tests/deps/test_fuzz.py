"""No input escapes as an exception: random bytes and wrongly-typed documents in every format."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.deps.scan import INTERNAL_PARSER_ERROR
from tests.deps import helpers


def run(*targets, **options):
    """Like helpers.run, but a parser bug caught by the safety net fails the test."""
    found = helpers.run(*targets, **options)
    assert not [f.message for f in found if INTERNAL_PARSER_ERROR in f.message]
    return found


FILES = [
    "requirements.txt",
    "pyproject.toml",
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
    "Pipfile",
    "setup.cfg",
    "pylock.toml",
    "environment.yml",
    "python_env.yaml",
    "Dockerfile",
    ".github/workflows/ci.yml",
]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.text(max_size=30),
    st.integers(-5, 5),
    st.booleans(),
    st.sampled_from(["numpy==1.0", "x>=1", "git+https://h/r@main", "0", "../x", ".", "sha256:ab"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "version",
                    "source",
                    "registry",
                    "git",
                    "hash",
                    "hashes",
                    "url",
                    "path",
                    "editable",
                    "dependencies",
                    "marker",
                    "files",
                    "type",
                    "reference",
                    "resolved_reference",
                    "pip",
                    "uses",
                    "run",
                    "steps",
                    "image",
                    "include-group",
                    "requires",
                    "vcs",
                    "commit-id",
                    "directory",
                    "sdist",
                    "wheels",
                    "jobs",
                    "sha256",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


@FUZZ
@given(name=st.sampled_from(FILES), data=st.binary(max_size=300))
def test_random_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for finding in run(tmp_path):
        assert finding.rule_id.startswith(("MLSEC-DEP-", "MLSEC-CORE-002"))


@FUZZ
@given(
    doc=st.dictionaries(
        st.sampled_from(
            [
                "project",
                "build-system",
                "dependency-groups",
                "tool",
                "package",
                "packages",
                "version",
                "lock-version",
                "metadata",
                "requires",
                "dependencies",
                "optional-dependencies",
                "poetry",
                "uv",
                "source",
                "index",
                "dev-packages",
                "pipenv",
            ]
        ),
        values,
        max_size=5,
    ),
    name=st.sampled_from(["pyproject.toml", "uv.lock", "poetry.lock", "pylock.toml", "Pipfile"]),
)
def test_wrongly_typed_toml(tmp_path, doc, name):
    text = "\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()) + "\n"
    (tmp_path / name).write_text(text)
    helpers.assert_only_dependency_findings(run(tmp_path / name, installed=None))


@FUZZ
@given(
    doc=values, name=st.sampled_from(["environment.yml", "python_env.yaml", ".github/workflows/ci.yml", "Pipfile.lock"])
)
def test_wrongly_typed_yaml_and_json(tmp_path, doc, name):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".lock"):
        doc = {"_meta": {"pipfile-spec": 6, "sources": doc}, "default": doc}
        path.write_text(json.dumps(doc))
    else:
        path.write_text(yaml.safe_dump({"dependencies": doc, "jobs": doc, "build_dependencies": doc}))
    helpers.assert_only_dependency_findings(run(path))


@FUZZ
@given(
    lines=st.lists(
        st.sampled_from(
            [
                "FROM",
                "FROM x",
                "FROM ${A}",
                "ARG A=b@sha256:1",
                "RUN pip install",
                "RUN ['pip'",
                'RUN ["pip", "install", 1]',
                "RUN <<EOF",
                "EOF",
                "COPY --from=",
                "\\",
                "# escape=`",
                "RUN pip install -r",
                "RUN pip install --index-url",
                "RUN sh -c 'pip install x",
                "RUN pip install x 2>",
                "`",
            ]
        ),
        max_size=12,
    )
)
def test_dockerfile_fragments(tmp_path, lines):
    (tmp_path / "Dockerfile").write_text("\n".join(lines))
    helpers.assert_only_dependency_findings(run(tmp_path / "Dockerfile"))


def test_deeply_nested_documents(tmp_path):
    (tmp_path / "Pipfile.lock").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "environment.yml").write_text("a: " + "[" * 20_000 + "]" * 20_000)
    (tmp_path / "pyproject.toml").write_text("a = " + "[" * 20_000 + "]" * 20_000)
    found = run(tmp_path)
    assert sorted(f.location.path.rsplit("/", 1)[-1] for f in found) == [
        "Pipfile.lock",
        "environment.yml",
        "pyproject.toml",
    ]
    assert {f.rule_id for f in found} == {"MLSEC-DEP-023"}


@FUZZ
@given(record=values, version=st.sampled_from(["1.0", "2.0.0", "not a version", "0"]))
def test_hostile_osv_records_never_raise(record, version):
    pytest.importorskip("pip_audit")
    from pytest_mlsec.deps.osv import affects, to_result

    shaped = {"id": "X-1", "affected": [record, {"package": record, "ranges": [record], "versions": record}]}
    assert affects(shaped, "numpy", version) in (True, False)
    if isinstance(record, dict):
        shaped.update({k: v for k, v in record.items() if k != "id"})
    result = to_result(shaped, "numpy")
    assert result is None or bool(result.id)  # withdrawn, or a result that still names the advisory


@settings(max_examples=400, deadline=None)
@given(
    st.from_regex(
        r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,6}( ?\[[a-z, ]{0,6}\])? ?(==|===|>=|~=|!=)? ?v?[0-9]{1,3}(\.[0-9*]{1,2}){0,3}"
        r"((a|b|rc|\.post|\.dev|-)[0-9]?)?(\+[a-z0-9.]{1,5})?\Z",
        fullmatch=True,
    )
)
def test_fast_path_agrees_with_packaging(text):
    """The regex fast path for plain pins must accept only what packaging accepts, with the same meaning."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    from pytest_mlsec.deps import specs

    fast = specs._SIMPLE.match(text)
    if fast is None:
        return
    try:
        reference = Requirement(text)
    except InvalidRequirement:
        raise AssertionError(f"fast path accepted {text!r}, packaging rejects it") from None
    ours = specs.parse_pep508(text)
    assert ours.name == canonicalize_name(reference.name)
    assert ours.extras == tuple(sorted(reference.extras))
    assert specs.pinned_version(ours.specifier)[0] == (
        next(iter(reference.specifier)).version if len(reference.specifier) == 1 else None
    )

"""Requirements files: pip's syntax, includes, and the pin/hash/source rules on them."""

from __future__ import annotations

import codecs

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_mlsec.deps.requirements import logical_lines, parse_file
from pytest_mlsec.findings import Severity
from tests.deps.conftest import H2, H
from tests.deps.helpers import assert_only_dependency_findings, by_rule, only, rules, run


def test_clean_hashed_file_has_no_findings(write):
    path = write(
        "requirements.txt",
        f"""\
        # pinned, hashed
        numpy==1.26.4 \\
            --hash={H} \\
            --hash={H2}
        torch==2.3.1+cu121 --hash={H}  # a comment
        scipy===1.11.4 --hash={H}
        pkg @ https://files.example.com/pkg-1.0-py3-none-any.whl#sha256={"c" * 64}
        lib @ git+https://github.com/org/lib@{"0" * 40}
        """,
    )
    assert run(path) == []


def test_unpinned_variants_are_reported_with_reason(write):
    path = write(
        "requirements.txt",
        f"""\
        torch>=2 --hash={H}
        pandas==2.* --hash={H}
        numpy --hash={H}
        scipy~=1.11 --hash={H}
        x==1.0,<1.0 --hash={H}
        ok==1.26.4,>=1.20 --hash={H}
        """,
    )
    found = by_rule(run(path), "MLSEC-DEP-001")
    messages = {f.evidence["requirement"].split("=")[0].split(">")[0].split("~")[0].strip(): f.message for f in found}
    assert set(messages) == {"torch", "pandas", "numpy", "scipy", "x"}
    assert "wildcard" in messages["pandas"]
    assert "no version" in messages["numpy"]
    assert "cannot be satisfied" in messages["x"]
    assert all(f.severity is Severity.HIGH for f in found)
    assert found[0].location.line == 1


def test_markers_do_not_exempt_a_requirement(write):
    path = write("requirements.txt", 'pywin32>=300 ; sys_platform == "win32"\n')
    assert only(run(path), "MLSEC-DEP-001").evidence["marker"] == 'sys_platform == "win32"'


def test_no_hashes_at_all_is_one_finding_per_file(write):
    path = write("requirements.txt", "numpy==1.26.4\ntorch==2.3.1\n")
    finding = only(run(path), "MLSEC-DEP-002")
    assert finding.evidence["packages"] == ["numpy", "torch"]
    assert finding.location.line == 1


def test_hashes_can_be_turned_off(write):
    path = write("requirements.txt", "numpy==1.26.4\n")
    assert run(path, require_hashes=False) == []


def test_partial_hashes_blame_each_missing_entry(write):
    path = write("requirements.txt", f"numpy==1.26.4 --hash={H}\ntorch==2.3.1\nscipy==1.11.4\n")
    found = by_rule(run(path), "MLSEC-DEP-003")
    assert sorted(f.location.line for f in found) == [2, 3]
    assert not by_rule(run(path), "MLSEC-DEP-002")


def test_require_hashes_option_forces_hash_mode(write):
    path = write("requirements.txt", "--require-hashes\nnumpy==1.26.4\n")
    assert rules(run(path)) == ["MLSEC-DEP-003"]


def test_hash_mode_spans_includes(write):
    write("base.txt", "pyyaml==6.0.1\n")
    top = write("requirements.txt", f"-r base.txt\nnumpy==1.26.4 --hash={H}\n")
    finding = only(run(top), "MLSEC-DEP-003")
    assert finding.location.path.endswith("base.txt")


def test_weak_and_malformed_hashes(write):
    path = write(
        "requirements.txt",
        f"a==1 --hash=md5:{'a' * 32}\nb==1 --hash=sha256:abc\nc==1 --hash=crc32:00\nd==1 --hash={H}\n",
    )
    found = by_rule(run(path), "MLSEC-DEP-004")
    assert sorted(f.location.line for f in found) == [1, 2, 3]
    assert "weak" in found[0].message


def test_vcs_refs(write):
    path = write(
        "requirements.txt",
        f"""\
        a @ git+https://github.com/o/a@main
        b @ git+https://github.com/o/b@{"1" * 7}
        c @ git+https://github.com/o/c
        d @ git+https://github.com/o/d@{"2" * 40}
        git+ssh://git@github.com/o/e.git@v1.0#egg=e
        """,
    )
    found = by_rule(run(path), "MLSEC-DEP-005")
    assert sorted(f.location.line for f in found) == [1, 2, 3, 5]
    assert "no ref" in next(f for f in found if f.location.line == 3).message


def test_direct_urls(write):
    path = write(
        "requirements.txt",
        f"""\
        https://example.com/pkg-1.0.tar.gz
        http://example.com/other-1.0-py3-none-any.whl#sha256={"a" * 64}
        ./vendor/thing
        file:///opt/wheels/x-1.0-py3-none-any.whl
        """,
    )
    found = run(path)
    assert [f.location.line for f in by_rule(found, "MLSEC-DEP-006")] == [1]
    assert [f.location.line for f in by_rule(found, "MLSEC-DEP-007")] == [2]
    assert sorted(f.location.line for f in by_rule(found, "MLSEC-DEP-008")) == [3, 4]


def test_editable_and_env_vars(write):
    path = write("requirements.txt", "-e ./src/mypkg\nprivate==${PRIVATE_VERSION}\n")
    found = run(path)
    assert only(found, "MLSEC-DEP-009").location.line == 1
    env = only(found, "MLSEC-DEP-010")
    assert env.evidence["variables"] == ["PRIVATE_VERSION"]
    assert env.location.line == 2
    assert any(f.rule_id == "MLSEC-DEP-001" and f.location.line == 2 for f in found)


def test_index_options(write):
    path = write(
        "requirements.txt",
        """\
        --index-url https://pypi.org/simple/
        --extra-index-url https://download.pytorch.org/whl/cu121
        -i https://user:s3cret@internal.example.com/simple
        --find-links https://example.com/wheels/
        --trusted-host internal.example.com
        -f http://insecure.example.com/links
        """,
    )
    found = run(path, require_hashes=False)
    assert [f.location.line for f in by_rule(found, "MLSEC-DEP-011")] == [2]
    assert sorted(f.location.line for f in by_rule(found, "MLSEC-DEP-012")) == [2, 3]
    assert sorted(f.location.line for f in by_rule(found, "MLSEC-DEP-013")) == [4, 6]
    assert [f.location.line for f in by_rule(found, "MLSEC-DEP-014")] == [5]
    assert [f.location.line for f in by_rule(found, "MLSEC-DEP-007")] == [6]
    assert all("s3cret" not in f.message and "s3cret" not in str(f.evidence) for f in found)


def test_allow_list_accepts_configured_index(write):
    path = write("requirements.txt", "--index-url https://internal.example.com/simple/\n")
    assert by_rule(run(path), "MLSEC-DEP-012")
    assert run(path, allowed_indexes=["https://internal.example.com/simple"]) == []


def test_nested_relative_includes_and_missing_chain(write):
    write("reqs/base.txt", "-r common/more.txt\n")
    write("reqs/common/more.txt", "-c ../../nope.txt\n")
    top = write("requirements.txt", "-r reqs/base.txt\n")
    finding = only(run(top), "MLSEC-DEP-015")
    assert finding.location.path.endswith("more.txt")
    assert [c.rsplit("/", 1)[-1] for c in finding.evidence["chain"]] == [
        "requirements.txt",
        "base.txt",
        "more.txt",
        "nope.txt",
    ]


def test_include_cycle_is_reported_with_the_chain(write):
    write("a.txt", "-r b.txt\n")
    write("b.txt", "-r a.txt\n")
    top = write("requirements.txt", "-r a.txt\n")
    finding = only(run(top), "MLSEC-DEP-016")
    assert [c.rsplit("/", 1)[-1] for c in finding.evidence["chain"]] == ["a.txt", "b.txt", "a.txt"]


def test_diamond_include_is_not_a_cycle(write):
    write("c.txt", "x==1\n")
    write("a.txt", "-r c.txt\n")
    write("b.txt", "-r c.txt\n")
    top = write("requirements.txt", "-r a.txt\n-r b.txt\n")
    assert rules(run(top, require_hashes=False)) == []


def test_remote_include_is_not_followed(write):
    top = write("requirements.txt", "-r https://example.com/reqs.txt\n")
    assert "remote include" in only(run(top), "MLSEC-DEP-015").message


def test_constraints_pin_what_requirements_name(write):
    write("constraints.txt", f"torch==2.3.1 --hash={H}\nnumpy>=1\n")
    top = write("requirements.in.txt", "-c constraints.txt\ntorch\n")
    found = run(top, require_hashes=False)
    assert not by_rule(found, "MLSEC-DEP-001")


def test_crlf_and_utf16_bom(write):
    text = f"numpy==1.26.4 \\\r\n    --hash={H}\r\ntorch>=2\r\n"
    crlf = write("crlf/requirements.txt", text.encode())
    utf16 = write("u16/requirements.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    for path in (crlf, utf16):
        found = run(path)
        assert [(f.rule_id, f.location.line) for f in found] == [("MLSEC-DEP-001", 3)], found


def test_logical_lines_follow_pip():
    text = "a==1 \\\n  --hash=x \\\n# comment\nb==2\n"
    assert list(logical_lines(text)) == [(1, "a==1   --hash=x  # comment"), (4, "b==2")]


def test_malformed_inputs_are_one_finding_with_file_and_line(write):
    cases = {
        "bad1/requirements.txt": ("numpy==1.26.4\nthis is not ( valid\n", 2),
        "bad2/requirements.txt": ("--frobnicate yes\n", 1),
        "bad3/requirements.txt": ("numpy==1 --index-url https://x\n", 1),
        "bad4/requirements.txt": ("a==1\n" + "b" * 600_000 + "\n", 2),
    }
    for name, (text, line) in cases.items():
        found = by_rule(run(write(name, text), require_hashes=False), "MLSEC-DEP-023")
        assert len(found) == 1, (name, found)
        assert found[0].location.line == line
        assert found[0].location.path.endswith(name)
    binary = write("bin/requirements.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert "binary" in only(run(binary), "MLSEC-DEP-023").message
    latin = write("latin/requirements.txt", b"numpy==1\n\xff\xfe\xfa\n")
    assert only(run(latin), "MLSEC-DEP-023").location.line == 2


def test_parse_file_records_requirement_fields(write):
    path = write("requirements.txt", f'numpy[extra]==1.26.4 ; python_version >= "3.9" --hash={H}\n')
    parsed = parse_file(str(path))
    (req,) = parsed.requirements
    assert (req.name, req.version, req.specifier, req.hashes, req.line) == ("numpy", "1.26.4", "==1.26.4", (H,), 1)
    assert req.marker == 'python_version >= "3.9"'


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400))
def test_arbitrary_text_never_raises(tmp_path, text):
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    findings = run(path)
    assert all(f.rule_id.startswith("MLSEC-") for f in findings)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            [
                "-r",
                "-c",
                "-e",
                "--hash",
                "==",
                "===",
                "1.*",
                "@",
                "git+",
                "https://",
                "${X}",
                "\\",
                "#",
                ";",
                "[",
                "]",
                "numpy",
                " ",
                "\n",
                "\r\n",
                "--index-url",
                "-i",
                "'",
                '"',
                "file:",
                ".",
                "/",
                "--require-hashes",
                "python_version",
            ]
        ),
        max_size=40,
    )
)
def test_requirement_like_tokens_never_raise(tmp_path, tokens):
    path = tmp_path / "requirements.txt"
    path.write_text("".join(tokens), encoding="utf-8")
    assert_only_dependency_findings(run(path))


def test_includes_never_leave_the_project(write, tmp_path, monkeypatch):
    secret = tmp_path.parent / f"{tmp_path.name}-netrc"
    secret.write_text("machine x login me password hunter2\n")
    project = tmp_path / "proj"
    (project / "requirements").mkdir(parents=True)
    (project / "base.txt").write_text("numpy==1.26.4\n")
    (project / "requirements" / "dev.txt").write_text(f"-r ../base.txt\n-r {secret}\n-r /proc/self/environ\n")
    monkeypatch.chdir(project)
    found = run("requirements/dev.txt", require_hashes=False)
    outside = by_rule(found, "MLSEC-DEP-015")
    assert sorted(f.location.line for f in outside) == [2, 3]
    assert all("resolves outside" in f.message for f in outside)
    assert "hunter2" not in str([(f.message, f.evidence) for f in found])
    assert not by_rule(found, "MLSEC-DEP-023")  # base.txt (inside the project) was read and is fine


def test_credentials_in_invalid_lines_are_redacted(write):
    path = write("requirements.txt", "pkg @@ https://user:s3cret@example.com/x.whl\n")
    found = run(path)
    assert found
    assert "s3cret" not in str([(f.message, f.evidence) for f in found])

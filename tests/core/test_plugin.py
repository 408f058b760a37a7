"""The pytest plugin, exercised through pytester as users run it."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.usefixtures("demo_conftest")

FILES = {"models/bad.txt": "DANGER\n", "models/worse.txt": "x\nDANGER\n", "models/meh.txt": "CAREFUL\n"}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    for name, text in FILES.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (pytester.path / "clean.txt").write_text("ok\n")
    return pytester


def test_failing_fixture_lists_every_finding(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_models(mlsec_check):
            mlsec_check("demo", "models")

        def test_clean(mlsec_check):
            report = mlsec_check("demo", "clean.txt")
            assert report.findings == ()
        """
    )
    result = project.runpytest_subprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*mlsec found 2 finding(s) at or above high:*",
            "*HIGH MLSEC-DEMO-001 models/bad.txt:1*",
            "*why: line 1 says DANGER*",
            "*fix: Remove the word.*",
            "*HIGH MLSEC-DEMO-001 models/worse.txt:2*",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "During handling of the above exception" not in result.stdout.str()
    failures_section = result.stdout.str().split("short test summary info")[0]
    assert failures_section.count("why: line 1 says DANGER") == 1


def test_report_header_names_config(project: pytest.Pytester) -> None:
    project.makefile(".toml", mlsec='fail_on = "low"\n')
    project.makepyfile("def test_x(): pass")
    result = project.runpytest_subprocess()
    result.stdout.fnmatch_lines(["mlsec: pytest-mlsec *, config: *mlsec.toml, fail-on: low"])


def test_fail_on_option_lowers_threshold(project: pytest.Pytester) -> None:
    project.makepyfile("def test_meh(mlsec_check): mlsec_check('demo', 'models/meh.txt')")
    project.runpytest_subprocess().assert_outcomes(passed=1)
    project.runpytest_subprocess("--mlsec-fail-on=low").assert_outcomes(failed=1)


def test_zero_code_collects_one_item_per_target(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        """
        [tool.mlsec.targets]
        demo = ["models/bad.txt", "models/meh.txt", "clean.txt"]
        """
    )
    result = project.runpytest_subprocess("--mlsec", "-v")
    result.stdout.fnmatch_lines(
        [
            "*mlsec?demo:models/bad.txt? FAILED*",
            "*mlsec?demo:models/meh.txt? PASSED*",
            "*mlsec?demo:clean.txt? PASSED*",
        ]
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*MLSEC-DEMO-001 models/bad.txt:1*"])
    # Without the option nothing is collected.
    assert project.runpytest_subprocess().ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_zero_code_via_ini(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\nmlsec = true\n")
    project.makefile(".toml", mlsec='[targets]\ndemo = ["models/meh.txt"]\n')
    project.runpytest_subprocess().assert_outcomes(passed=1)


def test_session_reports_are_written(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_a(mlsec_check): mlsec_check("demo", "models/bad.txt")
        def test_b(mlsec_check): mlsec_check("demo", "models/meh.txt")
        """
    )
    result = project.runpytest_subprocess("--mlsec-report=json:out/r.json", "--mlsec-report=sarif:out/r.sarif")
    result.assert_outcomes(passed=1, failed=1)
    data = json.loads((project.path / "out" / "r.json").read_text())
    assert sorted(f["rule_id"] for f in data["findings"]) == ["MLSEC-DEMO-001", "MLSEC-DEMO-002"]
    sarif = json.loads((project.path / "out" / "r.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == 2
    result.stdout.fnmatch_lines(["*mlsec report written to out/r.json*"])


def test_bad_report_option_is_usage_error(project: pytest.Pytester) -> None:
    project.makepyfile("def test_x(): pass")
    result = project.runpytest_subprocess("--mlsec-report=xml:out.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mlsec-report expects FORMAT:PATH*"])


def test_broken_config_is_usage_error(project: pytest.Pytester) -> None:
    project.makefile(".toml", mlsec="[[suppress]]\nrule='MLSEC-DEMO-001'\n")
    project.makepyfile("def test_x(): pass")
    result = project.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "mlsec.toml: [suppress[0]] needs a non-empty 'reason'" in result.stderr.str()


def test_xdist_prints_one_merged_summary(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    project.makepyfile(
        """
        import pytest
        @pytest.mark.parametrize("name", ["bad", "worse", "meh"])
        def test_model(mlsec_check, name):
            mlsec_check("demo", f"models/{name}.txt", fail_on="low")
        """
    )
    result = project.runpytest_subprocess("-n", "2", "--mlsec-report=json:r.json")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert out.count("= mlsec =") == 1
    assert out.count("MLSEC-DEMO-001 models/bad.txt:1") >= 1
    summary = out.split("= mlsec =", 1)[1]
    assert "MLSEC-DEMO-001 models/bad.txt:1" in summary
    assert "MLSEC-DEMO-001 models/worse.txt:2" in summary
    assert "MLSEC-DEMO-002 models/meh.txt:1" in summary
    assert "3 target(s)" in summary
    data = json.loads((project.path / "r.json").read_text())
    assert len(data["findings"]) == 3

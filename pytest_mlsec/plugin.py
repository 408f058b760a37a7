"""The pytest plugin: fixtures, options, the session report, xdist merging and zero-code mode.

Start-up cost matters (this module is imported by every pytest run once the package is
installed): only pytest, the finding model and the config reader are imported here; checks
are imported when a fixture is first called or a zero-code item runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_mlsec import ASSERTIONS, __version__

if TYPE_CHECKING:
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report, Severity

_WORKER_KEY = "mlsec_reports"


class SessionCollector:
    """Collects every report made during the session (fixtures and zero-code items).

    The configuration is parsed at start-up only when the project has one (or an mlsec option
    was given); a project that merely has the plugin installed pays for none of it.
    """

    def __init__(
        self, config_file: Path | None, fail_on_option: str | None, outputs: list[tuple[str, str]], rootpath: Path
    ) -> None:
        self.config_file = config_file
        self.fail_on_option = fail_on_option
        self.outputs = outputs
        self.rootpath = rootpath
        self.reports: list[Report] = []
        self._config: Config | None = None
        self._fail_on: Severity | None = None

    def load(self) -> None:
        from pytest_mlsec.config import ConfigError, load_config
        from pytest_mlsec.findings import Severity

        try:
            config = load_config(self.config_file, start=self.rootpath)
        except ConfigError as exc:
            raise pytest.UsageError(f"pytest-mlsec configuration error: {exc}") from None
        try:
            fail_on = Severity.parse(self.fail_on_option) if self.fail_on_option else config.fail_on
        except ValueError as exc:
            raise pytest.UsageError(f"--mlsec-fail-on: {exc}") from None
        self._config, self._fail_on = config, fail_on

    @property
    def config(self) -> Config:
        if self._config is None:
            self.load()
        assert self._config is not None
        return self._config

    @property
    def fail_on(self) -> Severity:
        if self._fail_on is None:
            self.load()
        assert self._fail_on is not None
        return self._fail_on

    def header(self) -> str:
        source = str(self.config_file) if self.config_file else "no [tool.mlsec] configuration found"
        fail_on = self._fail_on.label if self._fail_on is not None else (self.fail_on_option or "high")
        return f"mlsec: pytest-mlsec {__version__}, config: {source}, fail-on: {fail_on}"

    def add(self, report: Report) -> None:
        self.reports.append(report)

    def merged(self) -> Report:
        from pytest_mlsec.findings import Report

        return Report.merge(self.reports)


_collector_key = pytest.StashKey[SessionCollector]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlsec", "ML pipeline security checks (pytest-mlsec)")
    group.addoption(
        "--mlsec",
        action="store_true",
        dest="mlsec_zero_code",
        default=None,
        help="collect the targets listed in [tool.mlsec.targets] as test items (zero-code mode)",
    )
    group.addoption(
        "--mlsec-report",
        action="append",
        default=[],
        metavar="FORMAT:PATH",
        help="write one report of every finding of the session (json, sarif, text, markdown); repeatable",
    )
    group.addoption("--mlsec-fail-on", metavar="SEVERITY", default=None, help="lowest severity that fails a check")
    group.addoption("--mlsec-config", metavar="FILE", default=None, help="mlsec.toml or pyproject.toml to use")
    parser.addini("mlsec", type="bool", default=False, help="enable zero-code mode ([tool.mlsec.targets])")
    parser.addini("mlsec_fail_on", default="", help="lowest severity that fails a check (default: config, else high)")


def _parse_outputs(values: list[str]) -> list[tuple[str, str]]:
    from pytest_mlsec.report import FORMATS

    outputs = []
    for value in values:
        fmt, sep, path = value.partition(":")
        if not sep or not path or fmt not in FORMATS:
            raise pytest.UsageError(
                f"--mlsec-report expects FORMAT:PATH with FORMAT one of {', '.join(FORMATS)}, got {value!r}"
            )
        outputs.append((fmt, path))
    return outputs


def pytest_configure(config: pytest.Config) -> None:
    from pytest_mlsec.configfile import find_config_file

    option_file = config.getoption("mlsec_config")
    rootpath = Path(str(config.rootpath))
    config_file = Path(option_file) if option_file else find_config_file(rootpath)
    fail_on_option = config.getoption("mlsec_fail_on") or config.getini("mlsec_fail_on") or None
    outputs = _parse_outputs(config.getoption("mlsec_report"))
    collector = SessionCollector(config_file, fail_on_option, outputs, rootpath)
    if config_file is not None or fail_on_option or _zero_code_enabled(config):
        collector.load()  # a project that uses pytest-mlsec hears about a broken config at once
    config.stash[_collector_key] = collector
    config.addinivalue_line("markers", "mlsec: a pytest-mlsec security check (added to zero-code items)")


def _collector(config: pytest.Config) -> SessionCollector:
    return config.stash[_collector_key]


def pytest_report_header(config: pytest.Config) -> str:
    return _collector(config).header()


# --- fixtures: one per public assert_* function ------------------------------------------------


def _make_fixture(name: str, spec: str) -> Any:
    def fixture(request: pytest.FixtureRequest) -> Callable[..., Report]:
        import importlib

        from pytest_mlsec.engine import MLSecViolation

        module_name, _, attr = spec.partition(":")
        function = getattr(importlib.import_module(module_name), attr)
        collector = _collector(request.config)

        def checked(*args: Any, **kwargs: Any) -> Report:
            kwargs.setdefault("config", collector.config)
            kwargs.setdefault("fail_on", collector.fail_on)
            try:
                report: Report = function(*args, **kwargs)
            except MLSecViolation as violation:
                failure: MLSecViolation | None = violation
            else:
                failure = None
            if failure is not None:  # fail outside the except block: no chained traceback noise
                collector.add(failure.report)
                pytest.fail(str(failure), pytrace=False)
            collector.add(report)
            return report

        checked.__name__ = name
        checked.__doc__ = function.__doc__
        return checked

    fixture.__name__ = name
    fixture.__doc__ = f"The pytest-mlsec check ``{name}``: call it; it fails the test with every finding."
    return pytest.fixture(name=name)(fixture)


for _name, _spec in ASSERTIONS.items():
    globals()[_name] = _make_fixture(_name, _spec)


@pytest.fixture
def mlsec_check(request: pytest.FixtureRequest) -> Callable[..., Report]:
    """Run any check by name, including third-party ones: ``mlsec_check("scan", "models/")``."""
    from pytest_mlsec.engine import MLSecViolation, gate

    collector = _collector(request.config)

    def checked(check: str, *targets: Any, fail_on: Any = None, config: Any = None, **options: Any) -> Report:
        try:
            report = gate(
                check,
                list(targets),
                fail_on=fail_on or collector.fail_on,
                config=config or collector.config,
                **options,
            )
        except MLSecViolation as violation:
            failure: MLSecViolation | None = violation
        else:
            failure = None
        if failure is not None:
            collector.add(failure.report)
            pytest.fail(str(failure), pytrace=False)
        collector.add(report)
        return report

    return checked


@pytest.fixture(scope="session")
def mlsec_aws_usage() -> Iterator[Any]:
    """Record every boto3 API call made during the session, for ``assert_least_privilege(used=...)``."""
    from pytest_mlsec.iam.usage import UsageRecorder

    recorder = UsageRecorder()
    recorder.start()
    try:
        yield recorder
    finally:
        recorder.stop()


# --- zero-code mode -----------------------------------------------------------------------------


class MLSecItem(pytest.Item):
    """One configured target of one check, run as a test."""

    def __init__(self, *, check: str, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self.add_marker("mlsec")

    def runtest(self) -> None:
        from pytest_mlsec.engine import run_check

        collector = _collector(self.config)
        report = run_check(self.check, [self.target], config=collector.config)
        collector.add(report)
        if report.failed(collector.fail_on):
            raise MLSecCheckFailed(report, collector.fail_on)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, MLSecCheckFailed):
            from pytest_mlsec.report.text import render_failure

            return render_failure(excinfo.value.report, excinfo.value.threshold)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"mlsec {self.check}: {self.target}"


class MLSecCheckFailed(Exception):
    def __init__(self, report: Report, threshold: Severity) -> None:
        super().__init__(f"{len(report.at_or_above(threshold))} finding(s)")
        self.report = report
        self.threshold = threshold


def _zero_code_enabled(config: pytest.Config) -> bool:
    option = config.getoption("mlsec_zero_code")
    return bool(option) if option is not None else bool(config.getini("mlsec"))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _zero_code_enabled(config):
        return
    collector = _collector(config)
    for check in collector.config.targets:
        for target in collector.config.configured_targets(check):
            items.append(MLSecItem.from_parent(session, name=f"mlsec[{check}:{target}]", check=check, target=target))


# --- session report, xdist ----------------------------------------------------------------------


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    collector = _collector(config)
    if _is_worker(config):
        if collector.reports:  # a worker that ran no check sends nothing (no empty summary)
            merged = collector.merged()
            config.workeroutput[_WORKER_KEY] = json.dumps(merged.to_dict())  # type: ignore[attr-defined]
        return
    _write_outputs(collector)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take the findings a worker collected (it never prints its own summary)."""
    payload = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if not payload:
        return
    from pytest_mlsec.findings import Report

    _collector(node.config).add(Report.from_dict(json.loads(payload)))


def _write_outputs(collector: SessionCollector) -> None:
    if not collector.outputs:
        return
    from pytest_mlsec.report import render

    merged = collector.merged()
    for fmt, path in collector.outputs:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(merged, fmt, threshold=collector.fail_on), encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _is_worker(config):
        return
    collector = _collector(config)
    if not collector.reports:
        return
    from pytest_mlsec.report.text import render_finding, summary_line

    merged = collector.merged()
    terminalreporter.section("mlsec")
    for finding in merged.findings:
        terminalreporter.write_line(render_finding(finding).splitlines()[0])
    terminalreporter.write_line(summary_line(merged, collector.fail_on))
    for _fmt, path in collector.outputs:
        terminalreporter.write_line(f"mlsec report written to {path}")

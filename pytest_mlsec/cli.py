"""The ``mlsec`` command line. Exit codes live here and only here:

* 0 -- nothing at or above the failure threshold;
* 1 -- findings at or above it (unreadable or unparseable targets are findings, so they give 1);
* 2 -- usage or configuration error only.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from pytest_mlsec import __version__
from pytest_mlsec.checks import BUILTIN_CHECKS, BUILTIN_COMMANDS

if TYPE_CHECKING:
    from pytest_mlsec.checks import Check, Command
    from pytest_mlsec.config import Config
    from pytest_mlsec.findings import Report, Severity

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

_COMMON_HELP = """\
exit codes:
  0  nothing at or above the --fail-on threshold
  1  findings at or above it (targets that cannot be read or parsed are findings)
  2  usage or configuration error
"""


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` without importing shutil (and bz2, lzma) at start-up."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse builds a formatter for every argument it adds; each one would import shutil for the width."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None, **kw: Any
    ) -> None:
        width = _terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width, **kw)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message, prefix ours the same way.

    Subparsers are built with the parent's class, so every parser gets the shutil-free formatter.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _fatal(message: str) -> NoReturn:
    """The one way the CLI gives up: a clear message and exit code 2, never a traceback."""
    print(f"mlsec: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def _add_common(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument("--format", "-f", choices=("text", "json", "sarif", "markdown"), default="text")
    out.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    out.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="lowest severity that fails (critical, high, medium, low, info); default from config, else high",
    )
    out.add_argument("--config", metavar="FILE", help="mlsec.toml or pyproject.toml to use (default: discovered)")
    out.add_argument("--no-progress", action="store_true", help="no progress line on stderr")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that subcommand is built (and its check imported)."""
    from pytest_mlsec.checks import registry

    parser = _Parser(
        prog="mlsec",
        description="Security checks for machine-learning pipelines.",
        epilog=_COMMON_HELP,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"mlsec (pytest-mlsec) {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    reg = registry()
    if only is not None and only in BUILTIN_CHECKS:
        checks: dict[str, Check] = {only: reg.check(only)}
        commands: dict[str, Command] = {}
    elif only is not None and only in BUILTIN_COMMANDS and (command := reg.command(only)) is not None:
        checks, commands = {}, {only: command}
    else:
        checks, commands = dict(reg.checks()), dict(reg.commands())
    for name, check in sorted(checks.items()):
        p = sub.add_parser(
            name,
            help=check.summary,
            description=check.summary,
            epilog=_COMMON_HELP,
            formatter_class=_Formatter,
        )
        p.add_argument(
            "targets", nargs="*", metavar="TARGET", help="files, folders or URIs (default: [tool.mlsec.targets])"
        )
        check.add_arguments(p)
        _add_common(p)
        p.set_defaults(_kind="check", _name=name)
    for name, command in sorted(commands.items()):
        p = sub.add_parser(
            name,
            help=command.summary,
            description=command.summary,
            epilog=_COMMON_HELP,
            formatter_class=_Formatter,
        )
        command.add_arguments(p)
        _add_common(p)
        p.set_defaults(_kind="command", _name=name)
    rules = sub.add_parser("rules", help="list every rule with its id, severity and description")
    rules.add_argument("--format", "-f", choices=("text", "json"), default="text")
    rules.set_defaults(_kind="rules", _name="rules")
    return parser


def _color_wanted(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


class _Progress:
    """A single self-overwriting status line on stderr, only on a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._shown = False

    def __call__(self, message: str) -> None:
        if not self.enabled:
            return
        text = message if len(message) < 100 else "..." + message[-97:]
        sys.stderr.write("\r\x1b[K" + text)
        sys.stderr.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _print_rules(fmt: str) -> int:
    import json

    from pytest_mlsec.checks import registry

    rules = list(registry().rules())
    if fmt == "json":
        print(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "name": r.name,
                        "severity": r.severity.label,
                        "short": r.short,
                        "full": r.full,
                        "remediation": r.remediation,
                        "tags": list(r.tags),
                    }
                    for r in rules
                ],
                indent=2,
            )
        )
        return EXIT_OK
    for r in rules:
        print(f"{r.id:<16} {r.severity.label:<8} {r.name}")
        print(f"{'':<25}{r.short}")
    print(f"\n{len(rules)} rules")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from pytest_mlsec.checks import UsageError
    from pytest_mlsec.config import ConfigError, load_config
    from pytest_mlsec.findings import Severity

    argv = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(first)
    except Exception as exc:  # a broken third-party plugin must not produce a traceback
        _fatal(f"could not load checks: {type(exc).__name__}: {exc}")
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    if args._kind == "rules":
        return _print_rules(args.format)

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _fatal(str(exc))
    try:
        threshold = Severity.parse(args.fail_on) if args.fail_on else config.fail_on
    except ValueError as exc:
        _fatal(f"--fail-on: {exc}")

    progress = _Progress(enabled=not args.no_progress and sys.stderr.isatty())
    report: Report | None
    try:
        if args._kind == "check":
            report = _run_check(args, config, progress)
        else:
            from pytest_mlsec.checks import registry

            chosen = registry().command(args._name)
            if chosen is None:
                raise UsageError(f"unknown command {args._name!r}")
            report = chosen.run(args, config)
    except UsageError as exc:
        progress.clear()
        _fatal(str(exc))
    except ConfigError as exc:
        progress.clear()
        _fatal(str(exc))
    progress.clear()
    if report is None:
        return EXIT_OK
    _emit(report, args, threshold)
    return EXIT_FINDINGS if report.failed(threshold) else EXIT_OK


def _run_check(args: argparse.Namespace, config: Config, progress: _Progress) -> Report:
    from pytest_mlsec.checks import UsageError, registry
    from pytest_mlsec.engine import run_check

    name = args._name
    check = registry().check(name)
    options = check.options_from_args(args)
    targets = list(args.targets) or list(config.configured_targets(name))
    runs_alone = getattr(check, "runs_without_targets", None)
    if not targets and not (runs_alone is not None and runs_alone(options)):
        raise UsageError(f"no targets: give TARGET arguments or list them under [tool.mlsec.targets] {name} = [...]")
    return run_check(name, targets, config=config, progress=progress, **options)


def _emit(report: Report, args: argparse.Namespace, threshold: Severity) -> None:

    if args.output:
        text = _render_without_gc(report, args.format, threshold, False)
        path = Path(args.output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            _fatal(f"cannot write {args.output}: {exc.strerror or exc}")
        if args.format != "text":
            from pytest_mlsec.report.text import summary_line

            print(summary_line(report, threshold), file=sys.stderr)
        return
    text = _render_without_gc(report, args.format, threshold, args.format == "text" and _color_wanted(sys.stdout))
    sys.stdout.write(text)


def _render_without_gc(report: Report, fmt: str, threshold: Severity, color: bool) -> str:
    """Rendering allocates many short-lived containers and no cycles: the cyclic GC only costs time."""
    import gc

    from pytest_mlsec.report import render

    enabled = gc.isenabled()
    gc.disable()
    try:
        return render(report, fmt, threshold=threshold, color=color)
    finally:
        if enabled:
            gc.enable()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Command line: ``shipper run``, ``shipper explain``, ``shipper config show``,
``shipper validate``.

Exit codes: 0 done, 1 runtime failure (a failed pipeline task or sink, logged as ``task
failed``), 2 bad configuration (one clear line on stderr, never a traceback).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shipper import __version__
from shipper.errors import ConfigError, ShipperError

if TYPE_CHECKING:  # argparse, logging, the kernels and the config stack (pydantic) load
    import argparse  # after the early signal handlers (main)
    import logging

    from shipper.config import Settings


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--path", metavar="GLOB", action="append", dest="paths",
                        help="file glob to tail (repeatable, ** allowed)")
    parser.add_argument("--path-template", metavar="TPL", action="append",
                        dest="path_templates", help="path pattern with {field} parts (repeatable)")
    parser.add_argument("--podinfo-dir", metavar="DIR", help="downward-API volume directory")
    parser.add_argument("--state-dir", metavar="DIR", help="checkpoints and disk buffers")
    parser.add_argument("--sink", metavar="TYPE=URL", action="append", dest="sink_flags",
                        help="a sink, e.g. loki=http://127.0.0.1:3100 (repeatable)")
    parser.add_argument("--listen", metavar="HOST:PORT", help="HTTP server address, or 'off'")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from shipper import kernels

    parser = argparse.ArgumentParser(prog="shipper", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version",
                        version=f"shipper {__version__} (kernels: {kernels.IMPLEMENTATION})")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="tail files and ship records")
    _common(run)
    run.add_argument("--once", action="store_true", default=None,
                     help="read every file to EOF, flush, exit")
    run.add_argument("--drain-on-exit", action=argparse.BooleanOptionalAction, default=None,
                     help="on SIGTERM read every file to EOF before exiting (default on)")
    explain = sub.add_parser("explain", help="show what happens to each line")
    _common(explain)
    explain.add_argument("--json", action="store_true", help="one JSON object per line")
    explain.add_argument("input", nargs="?", default="-", help="file to read, or - for stdin")
    validate = sub.add_parser("validate", help="check the configuration; start nothing")
    _common(validate)
    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    show = config_sub.add_parser("show", help="print the effective configuration")
    _common(show)
    show.add_argument("--once", action="store_true", default=None)
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    from shipper.config import load_settings

    overrides: dict[str, Any] = {
        "paths": args.paths, "path_templates": args.path_templates,
        "podinfo_dir": args.podinfo_dir, "state_dir": args.state_dir,
        "once": getattr(args, "once", None), "log_level": args.log_level,
        "drain_on_exit": getattr(args, "drain_on_exit", None),
    }
    if args.listen is not None:
        overrides["server"] = {"listen": args.listen}
    if args.sink_flags:
        overrides["sinks"] = [_sink_flag(flag) for flag in args.sink_flags]
    return load_settings(args.config, **overrides)


def _sink_flag(flag: str) -> dict[str, Any]:
    from shipper.sinks.settings import parse_sink_flag

    try:
        return parse_sink_flag(flag)
    except ValueError as exc:
        raise ConfigError(str(exc), key="--sink") from None


class EarlySignals:
    """Remembers a SIGTERM/SIGINT that arrives before the pipeline installs its own
    handlers (while config loads), so start-up can go straight to a clean drain; and a
    SIGHUP (whose default would end the process), so the pipeline reloads once running."""

    def __init__(self) -> None:
        self.requested = False
        self.reload = False
        self.received: list[int] = []
        self._previous = {sig: signal.signal(sig, self._handle)
                          for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}

    def _handle(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        if signum == signal.SIGHUP:
            self.reload = True
        else:
            self.requested = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def release(self) -> None:
        """Restore the previous handlers and deliver to them what arrived meanwhile (a
        command other than ``run`` is stopped by a signal as it would have been)."""
        self.restore()
        for signum in self.received:
            signal.raise_signal(signum)


def main(argv: Sequence[str] | None = None) -> int:
    # first, before argparse and the kernels load: a sidecar may be stopped while it starts
    early = EarlySignals()
    running = False
    try:
        args = build_parser().parse_args(argv)
        running = args.command == "run"
    finally:
        if not running:  # any other command, --help, a usage error
            early.release()
    try:
        return _main(args, early if running else None)
    finally:
        if running:
            early.restore()


def _main(args: argparse.Namespace, early: EarlySignals | None) -> int:
    from shipper import deferred_openssl, pydantic_plugins

    deferred_openssl.defer()  # OpenSSL loads when TLS is used (5 MiB resident)
    pydantic_plugins.skip_empty_scan()  # no importlib.metadata when no plugin is installed
    load_metrics_library()
    try:
        settings = settings_from_args(args)
    except ConfigError as exc:
        print(f"shipper: config error: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    try:
        if args.command == "config":
            return show_config(settings)
        if args.command == "validate":
            from shipper.validate import run_validate

            return run_validate(settings, args.config)
        if args.command == "explain":
            from shipper.explain_cmd import run_explain

            return run_explain(settings, args.input, as_json=args.json)
        return run(settings, listen_given=args.listen is not None,
                   stop_requested=(lambda: early.requested) if early else (lambda: False),
                   load=lambda: settings_from_args(args),
                   reload_requested=(lambda: early.reload) if early else (lambda: False))
    except ConfigError as exc:
        print(f"shipper: config error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except ShipperError as exc:
        _log().error("shipper stopped", extra={"error": str(exc)})
        return 1


def _log() -> logging.Logger:
    import logging

    return logging.getLogger("shipper")


def load_metrics_library() -> None:
    """Load the metric classes of ``prometheus_client`` without the rest of the package
    (its exposition brings HTTP servers, a push gateway and python-snappy; ``/metrics`` is
    written without it, :mod:`shipper.metrics_library`). Nothing to do once it is loaded."""
    from shipper import metrics_library

    metrics_library.install()


def _silence_stdout() -> None:
    """The reader went away (``| head``): stop writing without a traceback at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _configure_logging(settings: Settings) -> None:
    """Self-logs on stderr, passed through the same redaction rules as records."""
    from shipper.filters import Redactor
    from shipper.selflog import configure_logging

    configure_logging(settings.log_level, settings.log_format,
                      redact=Redactor(settings.redact).redact_text)


def show_config(settings: Settings) -> int:
    import orjson

    from shipper.config import masked_dump

    sys.stdout.buffer.write(orjson.dumps(masked_dump(settings), option=orjson.OPT_INDENT_2))
    sys.stdout.buffer.write(b"\n")
    return 0


def run(settings: Settings, *, listen_given: bool,
        stop_requested: Callable[[], bool] = lambda: False,
        load: Callable[[], Settings] | None = None,
        reload_requested: Callable[[], bool] = lambda: False) -> int:
    """``shipper run``: 0 when done or stopped, 1 after a failure. A bug outside the
    pipeline's watched tasks is one JSON error line (no record content), not a traceback.
    ``load`` loads the configuration again for a reload (SIGHUP, ``POST /-/reload``)."""
    import asyncio

    from shipper.run import run_pipeline
    from shipper.supervise import describe

    try:
        return asyncio.run(run_pipeline(settings, listen_given=listen_given,
                                        stop_requested=stop_requested, load=load,
                                        reload_requested=reload_requested))
    except (ShipperError, BrokenPipeError):
        raise
    except Exception as exc:  # noqa: BLE001 - logged and turned into exit code 1
        _log().critical("shipper crashed", extra=describe("main", exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())

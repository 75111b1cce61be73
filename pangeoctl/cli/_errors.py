"""The one error boundary: which exception means which exit code and which message.

Every command is wrapped by :func:`guarded` when the app is built, so a command body raises what went
wrong and never formats or maps errors itself. Exit codes: 0 ok, 1 the operation failed, 2 usage or
configuration error (nothing was changed).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def exit_for(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, message) for an exception we know; None for one we don't (a bug: let it show)."""
    from pangeoctl.checks import CheckError
    from pangeoctl.config import ConfigError
    from pangeoctl.runner import MissingTool, RunError
    from pangeoctl.targets.base import TargetError

    if isinstance(exc, ConfigError):
        return EXIT_USAGE, "\n".join(p.format(exc.filename) for p in exc.problems)
    if isinstance(exc, MissingTool):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, LookupError) and exc.args and isinstance(exc.args[0], str):  # a secret reference that does not resolve
        return EXIT_USAGE, f"stopped before changing anything: {exc.args[0]}"
    if isinstance(exc, TargetError):
        return exc.code, str(exc)
    if isinstance(exc, CheckError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, RunError):
        return EXIT_FAILED, f"stopped: {exc}"
    if isinstance(exc, FileNotFoundError) and exc.filename is None and exc.args:
        return EXIT_FAILED, str(exc.args[0])
    return None


def guarded(command: F) -> F:
    """``command`` with known exceptions turned into one message on stderr and the right exit code."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            known = exit_for(exc)
            if known is None:
                raise
            code, message = known
            _say(message)
            raise typer.Exit(code) from None

    return run  # type: ignore[return-value]

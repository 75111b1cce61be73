"""What a bad pangeo.yaml is told: :class:`Problem`, :class:`ConfigError`, and how values are quoted.

Every message is one line, ``FILE:LINE field.path: what is wrong — the fix``. Two rules keep bad input
from hurting whoever reads the message: a quoted value is cut to :data:`QUOTE_CHARS` characters (an
expanded YAML alias can be millions of items long), and nothing under a secret-shaped field is ever
quoted, whatever its type and whatever went wrong (:func:`is_secret_path`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

QUOTE_CHARS = 60  # longest value an error message quotes
MAX_PROBLEMS = 20  # problems listed for one file; the rest are counted ("and 1,699,990 more")

# Keys whose values are, or may hold, a secret. `auth` is here because a string written where the
# `auth:` section belongs is most likely a password.
_SECRET_KEY = re.compile(r"secret|passw|token|credential|private|api_?key", re.IGNORECASE)
_SECRET_SECTIONS = frozenset({"auth"})


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def is_secret_path(path: tuple[Any, ...]) -> bool:
    """True when a value at ``path`` must never be printed: under a secret-shaped key, or an ``auth:`` value itself."""
    return any(is_secret_key(k) for k in path) or (bool(path) and path[-1] in _SECRET_SECTIONS)


def quote(value: Any) -> str:
    """``repr`` of a scalar, cut to :data:`QUOTE_CHARS`; sections and lists are named, not printed."""
    if isinstance(value, dict):
        return f"a section of {len(value)} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    text = repr(value) if isinstance(value, str | int | float | bool) or value is None else repr(str(value))
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, at ``path`` (keys and list indexes), found on ``line`` (1-based)."""

    path: tuple[str | int, ...]
    message: str
    line: int | None = None
    severity: Literal["error", "warning"] = "error"

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path) or "(top level)"

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        prefix = "warning: " if self.severity == "warning" else ""
        if not self.path:
            return f"{where}: {prefix}{self.message}"
        return f"{where} {prefix}{self.dotted}: {self.message}"


def capped(problems: list[Problem]) -> list[Problem]:
    """At most :data:`MAX_PROBLEMS`, the rest counted in a last line (a file with a million bad items says so once)."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], Problem((), f"and {rest:,} more problem{'s' if rest != 1 else ''} like these")]


class ConfigError(Exception):
    """The file is not a valid pangeo.yaml; ``problems`` holds the reasons (capped), each with its line."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = capped(problems)
        super().__init__("\n".join(p.format(filename) for p in self.problems))

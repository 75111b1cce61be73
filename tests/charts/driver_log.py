"""What both driver scripts (run in their own venvs, beside this file) keep of the log: one line per record."""

from __future__ import annotations

import logging


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")

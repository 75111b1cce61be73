"""Typed units for ``pangeo.yaml``: memory sizes and durations.

Both parse the forms people write by hand (``4G``, ``4 GiB``, ``512Mi``; ``30m``, ``1h``, ``90s``, a bare
number) into one integer, so cross-field checks compare numbers, and both print back in the form the
downstream tool expects (kubespawner and dask-gateway read ``K/M/G/T`` as powers of 1024).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_MEM_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(i?B?|B)?\s*$", re.IGNORECASE)
_MEM_POW = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}

_DUR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_DUR_MULT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


MIN_MEMORY = 1024**2  # a size below 1 MiB is a unit left out (`memory: 8` is 8 bytes), never meant


def parse_memory(value: Any) -> int:
    """Bytes from ``4G``, ``4 GiB``, ``512Mi``, ``1.5G`` or an integer (bytes). Units are binary.

    Zero, negative, non-finite and sub-MiB sizes are refused: none of them is a size anyone means.
    """
    if isinstance(value, bool):
        raise ValueError("expected a size like '4G' or '512M'")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("expected a size like '4G' or '512M'")
    if isinstance(value, int | float):
        nbytes = int(value)
    else:
        m = _MEM_RE.match(str(value))
        if not m:
            raise ValueError("not a size: write it like '4G', '512M' or '2Gi'")
        number, unit = float(m.group(1)), m.group(2).upper()
        nbytes = int(number * 1024 ** _MEM_POW[unit])
    if nbytes <= 0:
        raise ValueError("must be more than 0 — write a size like '4G'")
    if nbytes < MIN_MEMORY:
        raise ValueError(f"{nbytes} bytes is too small — a number without a unit is bytes: write e.g. '{nbytes}G'")
    return nbytes


def format_memory(nbytes: int) -> str:
    """The shortest exact ``K/M/G/T`` form (binary units), as kubespawner and dask-gateway read it."""
    for unit, power in (("T", 4), ("G", 3), ("M", 2), ("K", 1)):
        if nbytes % 1024**power == 0:
            return f"{nbytes // 1024**power}{unit}"
    return str(nbytes)


def k8s_quantity(nbytes: int) -> str:
    """Kubernetes quantity (``10Gi``) for a size in bytes."""
    text = format_memory(nbytes)
    return text + "i" if text[-1] in "KMGT" else text


def parse_duration(value: Any) -> int:
    """Seconds from ``30m``, ``1h``, ``2d``, ``90s`` or a number of seconds; never negative."""
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("expected a duration like '30m' or '1h'")
    if isinstance(value, int | float):
        seconds = int(value)
    else:
        m = _DUR_RE.match(str(value))
        if not m:
            raise ValueError("not a duration: write it like '30m', '1h' or '3600'")
        seconds = int(float(m.group(1)) * _DUR_MULT[m.group(2).lower() if m.group(2) else None])
    if seconds < 0:
        raise ValueError("a duration cannot be negative — write it like '30m' or '1h' (0 where it means no limit)")
    return seconds


def format_duration(seconds: int) -> str:
    for unit, mult in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % mult == 0:
            return f"{seconds // mult}{unit}"
    return f"{seconds}s"


Memory = Annotated[int, BeforeValidator(parse_memory), PlainSerializer(format_memory, return_type=str)]
"""A memory size in bytes, written in pangeo.yaml as ``4G``/``512M``."""

Duration = Annotated[int, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""A duration in seconds, written in pangeo.yaml as ``30m``/``1h``."""

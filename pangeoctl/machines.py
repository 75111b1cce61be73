"""What a machine type gives: vCPUs, memory and GPUs, from the cloud's naming scheme.

Each cloud names its VM sizes systematically (GCE ``n2-standard-8``, EC2 ``m6i.2xlarge``, Azure
``Standard_D8s_v5``), so one parser per cloud and a table of families is enough to check that a profile
fits its pool before anything is created. Families absent here are rejected with the known ones named,
rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class Machine:
    name: str
    cpu: int
    memory: int  # bytes
    gpus: int = 0


class UnknownMachine(ValueError):
    pass


# GiB of memory per vCPU, by family and shape (from the clouds' machine-family pages).
_GCP: dict[str, dict[str, float]] = {
    "e2": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n1": {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9},
    "n2": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n2d": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n4": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c2": {"standard": 4},
    "c2d": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c3": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c3d": {"standard": 4, "highmem": 8, "highcpu": 2},
    "t2d": {"standard": 4},
    "g2": {"standard": 4},  # one NVIDIA L4 per 4..12 vCPU on the small shapes
}
_AWS = {"m": 4, "r": 8, "c": 2, "t": 4, "g": 4, "p": 8}  # by the family's first letter
_AZURE = {"D": 4, "E": 8, "F": 2, "B": 4, "NC": 7}


def _gib(x: float) -> int:
    return int(x * GIB)


def lookup(cloud: str, name: str) -> Machine:
    """The shape of machine type ``name`` on ``cloud`` (``gcp``, ``aws`` or ``azure``).

    Raises
    ------
    UnknownMachine
        When the name does not follow the cloud's scheme or its family is not known here.
    """
    if cloud == "gcp":
        m = re.fullmatch(r"([a-z]\d+[a-z]?)-(standard|highmem|highcpu)-(\d+)", name)
        if not m or m.group(1) not in _GCP or m.group(2) not in _GCP[m.group(1)]:
            raise UnknownMachine(f"unknown GCE machine type {name!r}; known families: {', '.join(_GCP)}, e.g. n2-standard-4")
        cpu = int(m.group(3))
        gpus = max(1, cpu // 12) if m.group(1) == "g2" else 0
        return Machine(name, cpu, _gib(cpu * _GCP[m.group(1)][m.group(2)]), gpus)
    if cloud == "aws":
        m = re.fullmatch(r"([a-z]+)(\d+)([a-z]*)\.(medium|large|xlarge|(\d+)xlarge)", name)
        if not m or m.group(1)[0] not in _AWS or len(m.group(1)) > 2:
            raise UnknownMachine(f"unknown EC2 instance type {name!r}; known families start with {', '.join(_AWS)}, e.g. m6i.xlarge")
        size = m.group(4)
        cpu = 1 if size == "medium" else 2 if size == "large" else 4 * int(m.group(5) or 1)
        if m.group(1) == "t" and size == "medium":
            cpu = 2
        gpus = 1 if m.group(1)[0] in "gp" else 0
        return Machine(name, cpu, _gib(cpu * _AWS[m.group(1)[0]]), gpus)
    if cloud == "azure":
        m = re.fullmatch(r"Standard_(NC|[A-Z])(\d+)([a-z]*)(?:_([A-Z]\d+))?(?:_v\d+)?", name)
        if not m or m.group(1) not in _AZURE:
            raise UnknownMachine(f"unknown Azure VM size {name!r}; known series: {', '.join(_AZURE)}, e.g. Standard_D4s_v5")
        cpu = int(m.group(2))
        return Machine(name, cpu, _gib(cpu * _AZURE[m.group(1)]), 1 if m.group(1) == "NC" else 0)
    raise UnknownMachine(f"machine types are not looked up for cloud {cloud!r}")

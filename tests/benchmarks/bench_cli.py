"""CLI start-up and render speed, as ratios to baselines measured in the same run.

    python -m tests.benchmarks.bench_cli

Goal (issue: the spine): `pangeoctl --help` ≤ 1.5× the `--help` of a bare two-command Typer app.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARE = """
import typer
app = typer.Typer()
@app.command()
def a(): pass
@app.command()
def b(): pass
app()
"""


def timed(argv: list[str], n: int = 7) -> float:
    runs = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        bare = Path(d) / "bare.py"
        bare.write_text(BARE)
        base = timed([sys.executable, str(bare), "--help"])
        ours = timed([sys.executable, "-m", "pangeoctl", "--help"])
        validate = timed([sys.executable, "-m", "pangeoctl", "validate", "-c", str(ROOT / "tests/configs/gcp.happy.regional-gpu.yaml")])
        print(f"--help: bare typer {base * 1000:.0f} ms, pangeoctl {ours * 1000:.0f} ms → {ours / base:.2f}× (goal ≤ 1.5×)")
        print(f"validate (largest fixture): {validate * 1000:.0f} ms → {validate / base:.2f}× bare --help")

    from pangeoctl import config as C
    from pangeoctl.render import render_plan

    cfg = C.load(ROOT / "tests/configs/gcp.happy.regional-gpu.yaml")
    t = time.perf_counter()
    n = 20
    for _ in range(n):
        render_plan(cfg, Path("/tmp/bench-render"))
    per = (time.perf_counter() - t) / n
    print(f"render_plan (largest fixture, in process): {per * 1000:.1f} ms")


if __name__ == "__main__":
    main()

"""A HyP3 stack on a cluster: tasks and the reference pixel's time, chunked after the cut vs before it.

    python -m tests.benchmarks.bench_hyp3 [--size 256] [--dates 24]

HyP3 product zips of one frame (each with a margin of its own, as real products have), served over HTTP with
Range, read by a 2-process ``LocalCluster``. ``hyp3.open_stack`` chunks each product once it is cut to the
common area, so every chunk is one window read; the baseline, in the same run, chunks each product as it
opens it (chunk edges offset by each margin) and then cuts and stacks, as open_stack did before. Printed:
tasks in the stack's graph and the time of ``insar.reference`` (a coherence mean over the whole stack, then
one pixel's read). Target: ≥ 5× fewer tasks and ≥ 3× faster than the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def _baseline(stack, products, chunks: int) -> dict:  # noqa: ANN001
    """The stack as open_stack made it before: each product chunked on its own grid, then cut and stacked."""
    import numpy as np
    import rioxarray
    import xarray as xr

    def opened(path: str):  # noqa: ANN202
        da = rioxarray.open_rasterio(path, masked=True, chunks={"y": chunks, "x": chunks}).squeeze("band", drop=True)
        i0, j0 = (int(np.argmin(np.abs(da[c].values - float(stack[c][0])))) for c in ("x", "y"))
        cut = da.isel(x=slice(i0, i0 + stack.sizes["x"]), y=slice(j0, j0 + stack.sizes["y"]))
        return cut.assign_coords(x=stack.x, y=stack.y)

    return {name: xr.concat([opened(getattr(p, attr)) for p in products], dim="pair") for name, attr in (("unwrapped", "phase"), ("coherence", "coherence"))}


def main() -> None:
    from distributed import Client, LocalCluster

    from pangeoctl.geo import hyp3, insar, sample_data
    from tests.conftest import served

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--dates", type=int, default=24)
    ap.add_argument("--chunks", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        truth = sample_data.insar_stack(shape=(args.size, args.size), n_dates=args.dates, seasonal_m=0, seed=9)
        files = sample_data.hyp3_products(Path(d), truth, as_zip=True)
        with LocalCluster(n_workers=2, threads_per_worker=2) as lc, Client(lc), served(Path(d)) as url:
            urls = [f"{url}/{f.name}" for f in files]
            ours = hyp3.open_stack(urls, chunks=args.chunks)
            by_stem = {p.stem: p for p in map(hyp3.product, urls)}
            base = _baseline(ours, [by_stem[s] for s in ours["product"].values], args.chunks)
            rows = {}
            for name, (unw, coh) in {"after the cut": (ours.unwrapped, ours.coherence), "before it": (base["unwrapped"], base["coherence"])}.items():
                tasks = len(unw.data.__dask_graph__()) + len(coh.data.__dask_graph__())
                t = time.perf_counter()
                insar.reference(unw, coherence=coh)
                rows[name] = (tasks, time.perf_counter() - t)
                print(f"chunked {name}: {tasks} tasks, reference pixel in {rows[name][1]:.1f} s")
            (t_ours, s_ours), (t_base, s_base) = rows["after the cut"], rows["before it"]
            print(f"{len(files)} products of {args.size}² px: {t_base / t_ours:.1f}× fewer tasks, {s_base / s_ours:.1f}× faster (target ≥ 5×, ≥ 3×)")


if __name__ == "__main__":
    main()

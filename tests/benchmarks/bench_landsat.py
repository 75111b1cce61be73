"""Range reads of the NDVI path: bytes moved vs the intersecting tiles vs whole files; HTTP vs local files.

    python -m tests.benchmarks.bench_landsat

Six 2048² scenes (256² tiles). For a 256² and a 1024² pixel box: bytes the server sent, the bytes of the
tiles the box intersects (all three bands, all scenes), and the whole files; then the median composite's
time over HTTP against the same items pointing at local files, in the same run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    import pystac
    import rasterio
    from rasterio.warp import transform_bounds

    from pangeoctl.geo import landsat
    from pangeoctl.geo.serve import serve_sample

    with tempfile.TemporaryDirectory() as d:
        srv, _ = serve_sample(Path(d), n_scenes=6, size=2048)
        items = [pystac.Item.from_dict(i) for i in srv.items]
        files = sorted(Path(d).glob("*.tif"))
        whole = sum(f.stat().st_size for f in files)
        t = items[0].properties["proj:transform"]
        x0, y0 = t[2], t[5]
        for px in (256, 1024):
            col0 = row0 = 300  # not tile-aligned
            utm = (x0 + col0 * 30, y0 - (row0 + px) * 30, x0 + (col0 + px) * 30, y0 - row0 * 30)
            bbox = list(transform_bounds(f"EPSG:{items[0].properties['proj:epsg']}", "EPSG:4326", *utm))
            tiles = 0
            for f in files:
                with rasterio.open(f) as src:
                    ti = range(row0 // 256, (row0 + px - 1) // 256 + 1)
                    tj = range(col0 // 256, (col0 + px - 1) // 256 + 1)
                    tiles += sum(src.block_size(1, i, j) for i in ti for j in tj)
            before = srv.bytes_sent
            t0 = time.perf_counter()
            http = landsat.composite(landsat.ndvi(landsat.load(items, bbox))).compute(scheduler="threads")
            t_http = time.perf_counter() - t0
            moved = srv.bytes_sent - before
            local_items = [it.clone() for it in items]
            for it in local_items:
                for a in it.assets.values():
                    a.href = str(Path(d) / Path(a.href).name)
            t0 = time.perf_counter()
            local = landsat.composite(landsat.ndvi(landsat.load(local_items, bbox))).compute(scheduler="threads")
            t_local = time.perf_counter() - t0
            assert np.array_equal(http.values, local.values, equal_nan=True)
            print(
                f"{px}² px box: moved {moved / 2**20:.1f} MiB = {moved / whole:.1%} of the files "
                f"({moved / tiles:.2f}× the intersecting tiles' {tiles / 2**20:.1f} MiB; whole files {whole / 2**20:.0f} MiB); "
                f"composite over HTTP {t_http:.2f} s vs local files {t_local:.2f} s ({t_http / t_local:.2f}×)"
            )
        srv.shutdown()


if __name__ == "__main__":
    main()

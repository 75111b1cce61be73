# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Sentinel-1 small-baseline (SBAS) time series on Dask Gateway
#
# From a stack of unwrapped interferograms to a **displacement time series** and a **velocity map**.
# Weekly Sentinel-1 acquisitions mean many dates; each date is paired with its next few neighbours
# (a *small-baseline network*), and redundant pairs average out the atmosphere. The inversion solves one
# small least-squares problem per pixel — millions of them — so the image is cut in chunks and each
# Dask worker solves its chunks.
#
# - **Data.** `source = "synthetic"` (default) makes a stack with a known subsidence bowl, correlated
#   atmospheric noise and unwrapping errors (NaN), so the result can be checked against the truth.
#   `source = "hyp3"` reads ASF HyP3 `INSAR_GAMMA` products: set `hyp3_products` to a glob of the
#   `*_unw_phase.tif` files, or to a list of their URLs (or of the products' `.zip` URLs, as HyP3 lists a
#   job's files). They are read lazily, in ranges, by the workers; the coherence files next to them weight
#   the inversion (by phase variance, MintPy's default), HyP3's water mask leaves out water, and each
#   interferogram is referenced to the most coherent pixel first.
# - **What the numbers mean.** Velocities are along the line of sight (LOS), **positive towards the
#   satellite**; pixels whose temporal coherence is below 0.7 are masked (MintPy's default). A linear
#   trend is fitted (no seasonal term: under two years it is not separable from the trend).
# - **Where it runs.** The workers do the reading and solving; this notebook only plots the results.

# %% tags=["parameters"]
source = "synthetic"  # or "hyp3"
hyp3_products: str | list[str] = ""  # with source = "hyp3": a glob of *_unw_phase.tif, or a list of URLs
size = 128  # pixels per side of the synthetic stack
n_dates = 30
num_connections = 3
n_workers = 2
chunk = 64  # pixels per side of the chunks the workers solve
output = "velocity.tif"  # with source = "hyp3": the velocity map as a Cloud-Optimized GeoTIFF (m/yr)

# %%
from dask_gateway import Gateway

gateway = Gateway()
cluster = gateway.new_cluster()
cluster.scale(n_workers)
client = cluster.get_client()
client.wait_for_workers(n_workers, timeout=120)

# %%
import numpy as np

from pangeoctl.geo import hyp3, insar, sample_data

truth = None
if source == "synthetic":
    stack = sample_data.insar_stack(shape=(size, size), n_dates=n_dates, num_connections=num_connections, seasonal_m=0, seed=42)
    unwrapped, coherence, land, truth = stack.unwrapped.chunk({"y": chunk, "x": chunk}), None, None, stack.true_velocity
elif source == "hyp3":
    stack = hyp3.open_stack(hyp3_products, chunks=chunk)
    unwrapped, (ref_y, ref_x) = insar.reference(stack.unwrapped, coherence=stack.coherence)
    coherence, land = stack.coherence, stack.get("water_mask")
    print(f"reference pixel: y={ref_y}, x={ref_x} ({stack.rio.crs}); {stack.attrs['orbit_direction']} pass")
    print("water mask:", "none in the products" if land is None else f"{float(1 - land.mean()):.1%} of the area is water (left out)")
else:
    raise ValueError(f"source must be 'synthetic' or 'hyp3', not {source!r}")
dates = stack.date.values
pairs = list(zip(stack.ref.values.tolist(), stack.sec.values.tolist(), strict=True))
print(f"{len(dates)} dates, {len(pairs)} interferograms of {unwrapped.sizes['y']}×{unwrapped.sizes['x']} pixels")

# %% [markdown]
# ## The pair network
# The network of the products loaded: a failed job or a missing acquisition can split it in parts, and
# then nothing measures the motion between the parts (the inversion warns and flags every pixel).

# %%
parts = insar.connected_components(pairs, len(dates))
print(f"network: {len(pairs)} pairs over {len(dates)} dates, {len(parts)} connected part(s): {insar.describe_parts(parts, dates)}")

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 3))
for i, j in pairs:
    ax.plot([dates[i], dates[j]], [i, j], color="tab:blue", lw=0.8)
ax.set(xlabel="date", ylabel="date index", title=f"small-baseline network ({len(pairs)} pairs, {len(parts)} part(s))")
plt.show()

# %% [markdown]
# ## Invert on the gateway cluster
# The stack is chunked over the image; each chunk's pixels are solved together by a compiled kernel (no
# per-pixel loop), weighted by coherence when there is one.

# %%
result = insar.invert(unwrapped, pairs, dates, coherence=coherence, mask=land).compute()
print("solved on", len(client.scheduler_info()["workers"]), "workers")
print(f"{result.velocity.attrs['long_name']} in {result.velocity.attrs['units']}; sign: {result.attrs['sign_convention']}")
masked = float(result.velocity.isnull().mean())
print(f"masked: {masked:.1%} of the pixels (temporal coherence < {result.attrs['min_temporal_coherence']}, water or no data)")
print(f"max subsidence {float(result.velocity.min()) * 1000:.1f} mm/yr; {int((~result.connected).sum())} pixels with a split network")
if source == "hyp3" and "lv_theta" in stack:  # only if the ground moves vertically: say so when you show it
    vertical = insar.los_to_vertical(result.velocity, stack.lv_theta.compute())
    print(f"{vertical.attrs['long_name']}: fastest sinking {float(vertical.min()) * 1000:.1f} mm/yr")

# %%
if truth is not None:
    err = (result.velocity - truth) * 1000
    print(f"velocity error vs truth: RMS {float(np.sqrt((err**2).mean())):.2f} mm/yr (truth: max subsidence {float(truth.min()) * 1000:.1f} mm/yr)")

# %%
if source == "hyp3":  # a georeferenced product for GIS, in the products' own CRS and grid
    result.velocity.astype("float32").rio.write_crs(stack.rio.crs).rio.to_raster(output, driver="COG")
    print(f"wrote {output}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
(result.velocity * 1000).plot(ax=axes[0], cmap="RdBu", center=0, cbar_kwargs={"label": "mm/yr"})
axes[0].set_title("LOS velocity (positive towards the satellite)")
cy, cx = np.unravel_index(int(np.nanargmin(result.velocity.values)), result.velocity.shape)
for (y, x), name in [((cy, cx), "fastest subsidence"), ((5, 5), "near a corner")]:
    (result.displacement[:, y, x] * 1000).plot(ax=axes[1], label=name, marker=".")
axes[1].set(ylabel="LOS displacement (mm)", title="time series")
axes[1].legend()
plt.tight_layout()
plt.show()

# %%
client.close()
cluster.shutdown()
gateway.close()

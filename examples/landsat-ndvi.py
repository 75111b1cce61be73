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
# # Cloud-free NDVI from Landsat, next to the data
#
# Find Landsat Collection 2 Level-2 scenes with a **STAC search**, read only the pixels of your area from
# **Cloud-Optimized GeoTIFFs** (HTTP range requests: a few tiles, not 60 MB bands), mask clouds with the
# `qa_pixel` band, and compute a median NDVI composite and an NDVI time series on **Dask Gateway** workers.
#
# - **What is masked.** Clouds, their shadows, cirrus and snow (`qa_pixel`), and reflectance outside USGS's
#   valid range (DN 7273–43636). Only Landsat 8/9 (OLI) Tier 1 scenes are mixed by default. A date enters
#   the time series only when at least half of the area is clear.
#
# - **What runs where.** This notebook searches the catalog and builds a lazy plan. The *workers* read the
#   tiles straight from object storage and compute. Only the small results come back here.
# - **What it costs.** Reading in the data's own region is free; across regions or clouds it is egress
#   (about $90 per TB). Landsat C2 on AWS (Earth Search) is in us-west-2 and requester-pays: pass
#   `requester_pays=True` to `load` (your account pays) with AWS credentials on the workers; Planetary
#   Computer (the default here) is in Azure West Europe, and the workers sign its URLs as they read.

# %% tags=["parameters"]
stac_url = "https://planetarycomputer.microsoft.com/api/stac/v1"
collection = "landsat-c2-l2"
bbox = [13.75, 50.35, 13.80, 50.38]  # lon/lat: west, south, east, north
dates = "2024-03-01/2024-10-31"
max_cloud = 60  # percent, per scene
n_workers = 2
output = "ndvi-median.tif"

# %%
import os

from pangeoctl.geo import landsat, stac

if os.environ.get("DASK_GATEWAY__ADDRESS"):
    from dask_gateway import Gateway

    gateway = Gateway()
    cluster = gateway.new_cluster()
    cluster.scale(n_workers)
else:  # no platform around: a cluster on this machine runs the same code
    from distributed import LocalCluster

    gateway, cluster = None, LocalCluster(n_workers=n_workers, threads_per_worker=1)
client = cluster.get_client()
client.wait_for_workers(n_workers, timeout=120)
print("dashboard:", cluster.dashboard_link)

# %% [markdown]
# ## Search

# %%
items = stac.search(stac_url, collection, bbox, dates, max_cloud=max_cloud)
print(f"{len(items)} scenes:", ", ".join(f"{it.datetime:%Y-%m-%d} ({it.properties['eo:cloud_cover']:.0f} % cloud)" for it in items))

# %% [markdown]
# ## Load lazily, mask, NDVI
# Nothing is read yet: `load` only lays out which tiles each chunk needs.

# %%
stack = landsat.load(items, bbox)
ndvi = landsat.ndvi(stack)
median = landsat.composite(ndvi, "median")
series = landsat.area_mean(ndvi, min_valid_fraction=0.5)
clear = ndvi.notnull().mean(["y", "x"])
print(stack)

# %%
import dask

median, series, clear = dask.compute(median, series, clear)  # the workers read and compute now
print(f"valid pixels in the composite: {float(median.notnull().mean()):.0%}; series: {series.count().item()} dates")
print("clear fraction per date:", ", ".join(f"{t:%Y-%m-%d} {c:.0%}" for t, c in zip(clear.time.to_index(), clear.values, strict=True)))

# %% [markdown]
# ## Plots

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
median.plot(ax=axes[0], cmap="YlGn", vmin=0, vmax=0.9, cbar_kwargs={"label": "NDVI"})
axes[0].set(title="median NDVI, clouds masked", xlabel="easting (m)", ylabel="northing (m)")
series.plot(ax=axes[1], marker="o")
axes[1].set(title="mean NDVI of the area", ylabel="NDVI")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Save the composite as a Cloud-Optimized GeoTIFF

# %%
import rioxarray  # noqa: F401  (registers .rio)

median.rio.write_crs(stack.attrs["crs"]).rio.to_raster(output, driver="COG")
print("wrote", output)

# %%
client.close()
cluster.close() if gateway is None else cluster.shutdown()

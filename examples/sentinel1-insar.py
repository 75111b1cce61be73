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
# - **Data.** `source = "synthetic"` (default) makes a stack with a known subsidence bowl, a seasonal term,
#   correlated atmospheric noise and unwrapping errors (NaN), so the result can be checked against the
#   truth. With real data, load ASF HyP3 `INSAR_GAMMA` unwrapped-phase GeoTIFFs (on AWS us-west-2) into a
#   `(pair, y, x)` array with their reference/secondary dates — the rest of the notebook is unchanged.
# - **Where it runs.** The workers do the solving; this notebook only plots the results.

# %% tags=["parameters"]
source = "synthetic"
size = 128  # pixels per side of the synthetic stack
n_dates = 30
num_connections = 3
n_workers = 2

# %%
import numpy as np

from pangeoctl.geo import insar, sample_data

if source != "synthetic":
    raise ValueError("this notebook ships with the synthetic source; point it at your own HyP3 stack (see above)")
stack = sample_data.insar_stack(shape=(size, size), n_dates=n_dates, num_connections=num_connections, seed=42)
dates = stack.date.values
pairs = list(zip(stack.ref.values.tolist(), stack.sec.values.tolist(), strict=True))
print(f"{len(dates)} dates, {len(pairs)} interferograms, {int(np.isnan(stack.unwrapped).sum())} NaN pixels")

# %% [markdown]
# ## The pair network
# How many interferograms each choice gives, and whether the network holds together.

# %%
for label, kwargs in [("all pairs", {"method": "all"}), ("next 2", {"num_connections": 2}), ("next 3", {"num_connections": 3})]:
    net = insar.pair_network(dates, **kwargs)
    parts = len(insar.connected_components(net, len(dates)))
    print(f"{label:10} {len(net):4d} pairs, {parts} connected part(s)")

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 3))
for i, j in pairs:
    ax.plot([dates[i], dates[j]], [i, j], color="tab:blue", lw=0.8)
ax.set(xlabel="date", ylabel="date index", title=f"small-baseline network ({len(pairs)} pairs)")
plt.show()

# %% [markdown]
# ## Invert on the gateway cluster
# The stack is chunked over the image; each chunk's pixels are solved together (no per-pixel loop).

# %%
from dask_gateway import Gateway

gateway = Gateway()
cluster = gateway.new_cluster()
cluster.scale(n_workers)
client = cluster.get_client()
client.wait_for_workers(n_workers, timeout=120)

unwrapped = stack.unwrapped.chunk({"y": size // 2, "x": size // 2})
result = insar.invert(unwrapped, pairs, dates).compute()
print("solved on", len(client.scheduler_info()["workers"]), "workers")

# %%
err = (result.velocity - stack.true_velocity) * 1000
print(f"velocity error vs truth: RMS {float(np.sqrt((err**2).mean())):.2f} mm/yr; "
      f"max subsidence {float(result.velocity.min()) * 1000:.1f} mm/yr (truth {float(stack.true_velocity.min()) * 1000:.1f})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
(result.velocity * 1000).plot(ax=axes[0], cmap="RdBu", center=0, cbar_kwargs={"label": "mm/yr"})
axes[0].set_title("LOS velocity")
cy, cx = np.unravel_index(int(result.velocity.argmin()), result.velocity.shape)
for (y, x), name in [((cy, cx), "bowl centre"), ((5, 5), "stable corner")]:
    (result.displacement[:, y, x] * 1000).plot(ax=axes[1], label=name, marker=".")
axes[1].set(ylabel="displacement (mm)", title="time series")
axes[1].legend()
plt.tight_layout()
plt.show()

# %%
client.close()
cluster.shutdown()
gateway.close()

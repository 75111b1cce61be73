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
# # Scaling out with Dask Gateway
#
# Your notebook server is small on purpose. When a computation needs more, ask the platform's **Dask
# Gateway** for a cluster: a scheduler and as many workers as you need, running the same software
# environment as this notebook, on machines that exist only while you use them.
#
# - **What runs where.** This notebook (the *client*) builds the task graph; the *scheduler* hands tasks to
#   *workers*; workers read the data (on a cloud platform: straight from object storage, next to them).
# - **What it costs.** Workers are billed while they run. Clusters you forget shut down after the
#   platform's idle timeout, but `cluster.shutdown()` as soon as you are done is cheaper.
#
# Run the cells top to bottom. The same code works on the local platform and on a cloud hub: the
# platform sets `DASK_GATEWAY__ADDRESS` and friends for you.

# %% tags=["parameters"]
n_workers = 2  # how many workers to start
size = 4000  # the side of the random matrix below

# %%
from dask_gateway import Gateway

gateway = Gateway()
options = gateway.cluster_options()
print({key: options[key] for key in options})  # what the platform lets you choose

# %% [markdown]
# Pick what you need. Limits per cluster (cores, memory, workers) and per user (clusters at once) are set
# by the platform's admin in `pangeo.yaml`; asking for more gives a clear error.

# %%
cluster = gateway.new_cluster(options)
cluster.scale(n_workers)
client = cluster.get_client()
client.wait_for_workers(n_workers, timeout=120)
print("dashboard:", cluster.dashboard_link)

# %% [markdown]
# Open the dashboard link to watch the work spread over the workers.

# %%
import dask.array as da

x = da.random.RandomState(0).random((size, size), chunks=(size // 4, size // 4))
result = float((x + x.T).mean().compute())
workers = len(client.scheduler_info()["workers"])
print(f"mean = {result:.4f}, computed on {workers} workers")
assert abs(result - 1.0) < 0.01

# %% [markdown]
# Instead of a fixed size, let the cluster follow the work: it grows when tasks queue up and shrinks when
# they finish (down to `minimum`).

# %%
cluster.adapt(minimum=1, maximum=n_workers)

# %% [markdown]
# Done? Shut the cluster down: its workers stop billing now rather than at the idle timeout.

# %%
client.close()
cluster.shutdown()
gateway.close()

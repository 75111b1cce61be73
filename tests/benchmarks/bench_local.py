"""The local platform's speed and memory, next to a plain dask LocalCluster in the same run.

    python -m tests.benchmarks.bench_local

Prints: `up` to ready; `new_cluster()` to 2 workers connected vs `distributed.LocalCluster(n_workers=2)`;
resident memory of the idle platform and with one 2-worker cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def rss_of_tree(pid: int) -> int:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running())


def main() -> None:
    from tests.integration.conftest import Platform, write_config

    with tempfile.TemporaryDirectory() as d:
        cfg = write_config(Path(d))
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "pangeoctl", "up", "-c", str(cfg)], capture_output=True, text=True, check=True)
        up_s = time.perf_counter() - t
        state = Path(d) / "state"
        p = Platform(cfg, state, r.stdout.split(": ", 1)[1].split()[0], (state / "secrets" / "admin_token").read_text().strip())
        hub = int((state / "run" / "pangeoctl-hub.pid").read_text())
        time.sleep(1)
        idle = rss_of_tree(hub)
        try:
            p.api("POST", "/users", {"usernames": ["bench"]})
            from dask_gateway import Gateway, JupyterHubAuth

            with Gateway(address=p.gateway_address(), proxy_address=p.proxy_address(), auth=JupyterHubAuth(api_token=p.user_token("bench"))) as gw:
                t = time.perf_counter()
                cluster = gw.new_cluster()
                cluster.scale(2)
                client = cluster.get_client()
                client.wait_for_workers(2)
                gw_s = time.perf_counter() - t
                busy = rss_of_tree(hub)  # schedulers and workers are the gateway's children
                client.close()
                cluster.shutdown()
        finally:
            subprocess.run([sys.executable, "-m", "pangeoctl", "down", "-c", str(cfg)], capture_output=True)

    from distributed import Client, LocalCluster

    t = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, Client(lc) as c:
        c.wait_for_workers(2)
        local_s = time.perf_counter() - t
    print(
        json.dumps(
            {
                "up_to_ready_s": round(up_s, 2),
                "gateway_new_cluster_to_2_workers_s": round(gw_s, 2),
                "plain_localcluster_2_workers_s": round(local_s, 2),
                "ratio_gateway_vs_localcluster": round(gw_s / local_s, 2),
                "idle_platform_rss_mib": idle // 2**20,
                "platform_with_2_workers_rss_mib": busy // 2**20,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

"""The local platform under load: 8 users at once, each with a server and 2 Dask clusters of 2 workers.

    python -m tests.benchmarks.bench_load [--users 8]

A platform of its own on loopback ports (a temporary state dir, stopped at the end). First one user alone
starts one cluster (the baseline), then every user at once, each in a process of its own: created through the hub's API with a token,
starts a server, starts 2 clusters through the gateway with that token and scales each to 2 workers, asks for
a 3rd (the cap is 2: it must be refused), computes a small sum on both, shuts them down and stops the
server. Prints failures (goal 0), how many users met the cap, p50/p95 time to a running cluster
(``new_cluster()`` returned) and to its 2 workers (from the same start), the ratio to the lone user's, and the peak resident
memory of the platform's process tree (hub, proxy, gateway, servers, schedulers, workers).

Bounded: every wait has a timeout, the whole run a deadline (``--deadline``, 600 s), and the platform is
stopped whatever happens. Sized for 2 cores: 8 users are 8 servers and 48 Dask processes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

from tests.benchmarks.bench_local import rss_of_tree

CLUSTERS, WORKERS, CAP = 2, 2, 2


def _pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 2)


class Peak(threading.Thread):
    """Samples the RSS of the hub's process tree every half second; keeps the peak and the most processes."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.rss, self.procs, self.stop = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.rss = max(self.rss, rss_of_tree(self.pid))
                self.procs = max(self.procs, 1 + len(psutil.Process(self.pid).children(recursive=True)))
            except psutil.Error:
                continue


def one_user(p: Any, name: str, deadline: float) -> dict[str, Any]:
    """Log in, server, 2 clusters of 2 workers, the cap, a computation, shut down. Times in seconds.

    Runs in a process of its own, as each user's notebook kernel does."""
    out: dict[str, Any] = {"user": name, "running_s": [], "workers_s": [], "cap": False, "error": None}
    try:
        _session(p, name, deadline, out)
    except Exception as e:  # noqa: BLE001 — a failure is a figure here, not a crash
        out["error"] = f"{type(e).__name__}: {e}"
        traceback.print_exception(e, file=sys.stderr)
    return out


def _session(p: Any, name: str, deadline: float, out: dict[str, Any]) -> None:
    import dask.array as da
    from dask_gateway import Gateway, JupyterHubAuth

    from tests.integration.conftest import wait_for

    t = time.perf_counter()
    code, _ = p.api("POST", f"/users/{name}")
    assert code == 201, f"create user: {code}"
    token = p.user_token(name)
    code, _ = p.api("POST", f"/users/{name}/server")
    assert code in (201, 202), f"start server: {code}"
    left = max(1.0, deadline - time.monotonic())
    wait_for(lambda: p.api("GET", f"/users/{name}")[1]["servers"].get("", {}).get("ready"), min(120, left), 0.5, f"{name}'s server")
    out["server_s"] = time.perf_counter() - t

    clusters = []  # (cluster, when it was asked for)
    with Gateway(address=p.gateway_address(), proxy_address=p.proxy_address(), auth=JupyterHubAuth(api_token=token)) as gw:
        try:
            for _ in range(CLUSTERS):
                t = time.perf_counter()
                cluster = gw.new_cluster(shutdown_on_close=False)
                out["running_s"].append(time.perf_counter() - t)
                clusters.append((cluster, t))
                cluster.scale(WORKERS)
            try:  # `submit`, not `new_cluster`: a refused GatewayCluster leaves a Gateway that deadlocks in __del__
                extra = gw.submit()
                gw.stop_cluster(extra)
            except ValueError as e:
                out["cap"] = f"limit is {CAP}" in str(e)
            for cluster, t in clusters:
                with cluster.get_client(set_as_default=False) as client:
                    client.wait_for_workers(WORKERS, timeout=min(120, max(1.0, deadline - time.monotonic())))
                    out["workers_s"].append(time.perf_counter() - t)
                    x = da.arange(1_000_000, chunks=100_000)
                    assert int(client.compute(x.sum()).result(timeout=60)) == 499999500000
        finally:
            for cluster, _ in clusters:
                cluster.shutdown()
    code, _ = p.api("DELETE", f"/users/{name}/server")
    assert code in (202, 204), f"stop server: {code}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=600, help="seconds for the whole run")
    args = ap.parse_args()
    from tests.integration.conftest import Platform, write_config

    with tempfile.TemporaryDirectory() as d:
        cfg = write_config(Path(d), max_clusters_per_user=CAP, max_workers=WORKERS)
        r = subprocess.run([sys.executable, "-m", "pangeoctl", "up", "-c", str(cfg)], capture_output=True, text=True, timeout=180)
        if r.returncode:
            sys.exit(f"the platform did not start:\n{r.stderr}")
        state = Path(d) / "state"
        p = Platform(cfg, state, r.stdout.split(": ", 1)[1].split()[0], (state / "secrets" / "admin_token").read_text().strip())
        proxy_503: list[str] = []
        peak = Peak(int((state / "run" / "pangeoctl-hub.pid").read_text()))
        peak.start()
        try:
            alone = _alone(p)
            deadline = time.monotonic() + args.deadline
            t = time.perf_counter()
            results, failures = [], []
            pool = multiprocessing.get_context("spawn").Pool(args.users)
            try:
                pending = {f"user{i}": pool.apply_async(one_user, (p, f"user{i}", deadline)) for i in range(args.users)}
                for name, job in pending.items():
                    try:
                        results.append(job.get(timeout=max(1.0, deadline - time.monotonic())))
                    except multiprocessing.TimeoutError:
                        failures.append(f"{name}: not done by the deadline")
            finally:
                pool.terminate()
            failures += [f"{r['user']}: {r['error']}" for r in results if r["error"]]
            wall = time.perf_counter() - t
            # The proxy's own word on what it could not pass on (503: the backend did not answer in time).
            log = (state / "logs" / "hub.log").read_text(errors="replace").splitlines()
            proxy_503 = [line.strip() for line in log if "configurable_http_proxy" in line and " 503 " in line]
        finally:
            peak.stop.set()
            subprocess.run([sys.executable, "-m", "pangeoctl", "down", "-c", str(cfg)], capture_output=True, timeout=120)

    running = [s for r in results for s in r["running_s"]]
    workers = [s for r in results for s in r["workers_s"]]
    print(
        json.dumps(
            {
                "users": args.users,
                "clusters_per_user": CLUSTERS,
                "workers_per_cluster": WORKERS,
                "failures": len(failures),
                "failure_reasons": failures,
                "proxy_503_responses": len(proxy_503),
                "proxy_503_first": proxy_503[:3],
                "cap_enforced_users": f"{sum(1 for r in results if r['cap'])}/{args.users}",  # a 3rd cluster refused
                "alone_new_cluster_running_s": round(alone[0], 2),
                "alone_to_2_workers_s": round(alone[1], 2),
                "p50_new_cluster_running_s": _pct(running, 0.5),
                "p95_new_cluster_running_s": _pct(running, 0.95),
                "p50_to_2_workers_s": _pct(workers, 0.5),
                "p95_to_2_workers_s": _pct(workers, 0.95),
                "ratio_p50_running_loaded_vs_alone": round(statistics.median(running) / alone[0], 2) if running else None,
                "p50_server_ready_s": _pct([r["server_s"] for r in results], 0.5),
                "wall_s": round(wall, 1),
                "peak_platform_rss_mib": peak.rss // 2**20,
                "peak_platform_processes": peak.procs,
            },
            indent=1,
        )
    )


def _alone(p: Any) -> tuple[float, float]:
    """One user, one cluster of 2 workers, nothing else running: the baseline."""
    from dask_gateway import Gateway, JupyterHubAuth

    p.api("POST", "/users/solo")
    with Gateway(address=p.gateway_address(), proxy_address=p.proxy_address(), auth=JupyterHubAuth(api_token=p.user_token("solo"))) as gw:
        t = time.perf_counter()
        cluster = gw.new_cluster(shutdown_on_close=False)
        running = time.perf_counter() - t
        cluster.scale(WORKERS)
        with cluster.get_client(set_as_default=False) as client:
            client.wait_for_workers(WORKERS, timeout=120)
            workers = time.perf_counter() - t
        cluster.shutdown()
    return running, workers


if __name__ == "__main__":
    main()

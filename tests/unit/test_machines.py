"""Machine facts and the pod-fits-pool check: allocatable per cloud against the clouds' published figures,
and each way a pod can fail to land (resources, taints, GPUs) named with its profile, pool and shortfall."""

from __future__ import annotations

import pytest

from pangeoctl import config as C
from pangeoctl import machines
from pangeoctl.machines import GIB, MIB, Machine

HUB = "hub:\n  domain: h.org\n  https: {contact_email: a@h.org}\n  auth: {type: github, client_id: a, client_secret: {env: X}, allowed_users: [a]}\n"
WHERE = {
    "gcp": "gcp: {project: p, region: us-central1}\n",
    "aws": "aws: {region: us-west-2}\n",
    "azure": "azure: {subscription: s, resource_group: g, location: westeurope}\n",
}


def _cfg(cloud: str, extra: str = "") -> str:
    return f"name: lab\ncloud: {cloud}\n{WHERE[cloud]}{HUB}{extra}"


@pytest.mark.parametrize(
    ("instance", "pods"),
    # amazon-eks-ami eni-max-pods.txt
    [
        ("t3.medium", 17),
        ("t3.large", 35),
        ("m6i.large", 29),
        ("m6i.xlarge", 58),
        ("r6i.xlarge", 58),
        ("m6i.2xlarge", 58),
        ("m6i.4xlarge", 234),
        ("m5.16xlarge", 737),
    ],
)
def test_eks_max_pods_match_the_published_table(instance, pods):
    assert machines.eks_max_pods(instance) == pods


def test_gke_allocatable_follows_the_documented_tiers():
    a = machines.allocatable("gcp", machines.lookup("gcp", "n2-highmem-4"))
    # 25 % of 4 + 20 % of 4 + 10 % of 8 + 6 % of 16 GiB = 3.56 GiB, plus the 100 MiB eviction threshold
    assert a.reserved_memory == int(3.56 * GIB) + 100 * MIB
    assert a.cpu == pytest.approx(4 - (0.06 + 0.01 + 0.005 * 2))
    assert machines.allocatable("gcp", Machine("tiny", 1, GIB // 2)).reserved_memory == 355 * MIB


def test_aks_allocatable_takes_the_smaller_memory_reservation():
    e4 = machines.allocatable("azure", machines.lookup("azure", "Standard_E4s_v5"))
    assert e4.reserved_memory == (20 * 250 + 50) * MIB + 100 * MIB  # 5,050 MiB < 25 % of 32 GiB
    d2 = machines.allocatable("azure", machines.lookup("azure", "Standard_D2s_v5"))
    assert d2.reserved_memory == 2 * GIB + 100 * MIB  # 25 % of 8 GiB < 5,050 MiB
    assert (e4.reserved_cpu, d2.reserved_cpu) == (0.14, 0.1)


def test_eks_allocatable_reserves_by_pod_density():
    a = machines.allocatable("aws", machines.lookup("aws", "m6i.2xlarge"))
    assert a.reserved_memory == (11 * 58 + 255) * MIB + 100 * MIB
    assert a.max_pods == 58


def test_shipped_default_profiles_fit_every_clouds_default_user_machine():
    for cloud in WHERE:
        C.load("x", text=_cfg(cloud))  # raises ConfigError naming the profile if one did not fit


def test_a_profile_that_does_not_fit_names_profile_pool_and_shortfall():
    text = _cfg("azure", "  profiles:\n    - {name: Large, cpu: 3.5, memory: 28G}\n")
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=text)
    [message] = [p.format("x") for p in info.value.problems]
    assert message.startswith("x:9 hub.profiles.0: profile 'Large' (3.5 CPU, 28G) does not fit the user pool's Standard_E4s_v5 (4 CPU, 32.00 GiB)")
    assert "short by 1.56 GiB memory" in message and message.endswith("use a bigger `cluster.pools.user.machine_type`")


def test_each_worker_option_is_checked_on_the_worker_pool():
    text = _cfg("gcp", "dask:\n  options: {worker_cores: [1, 8], worker_memory: [2G, 30G]}\n")
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=text)
    msgs = [p.format("x") for p in info.value.problems]
    assert [m.split(":")[1] for m in msgs] == ["9 dask.options.worker_cores.1", "9 dask.options.worker_memory.1"]
    assert "a Dask worker of 8 cores and 2G does not fit the worker pool's n2-standard-8" in msgs[0] and "short by 0.31 CPU" in msgs[0]


def test_minikube_cannot_hold_an_8g_guarantee_at_4_cpu_8_gb():
    text = "name: dev\ncloud: minikube\nminikube: {cpus: 4, memory: 8G}\nhub:\n  profiles:\n    - {name: Small, cpu: 2, memory: 8G}\n"
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=text)
    msgs = [p.format("x") for p in info.value.problems]
    assert msgs[0].startswith("x:6 hub.profiles.0: profile 'Small' (2 CPU, 8G) does not fit the minikube node (4 CPU, 8.00 GiB)")
    assert "short by 0.26 GiB memory" in msgs[0]


def test_kind_checks_against_the_host_and_only_warns():
    cfg = C.load("x", text="name: dev\ncloud: kind\nhub:\n  profiles:\n    - {name: Small, cpu: 2, memory: 8G}\n")
    small = C.check(cfg, host=Machine("a 2-core laptop", 2, 4 * GIB))
    assert {p.severity for p in small} == {"warning"}
    assert any(p.path == ("hub", "profiles", 0) and "short by 0.85 CPU and 4.31 GiB memory" in p.message for p in small)
    assert C.check(cfg, host=Machine("a workstation", 16, 64 * GIB)) == []


def test_a_gpu_profile_needs_a_device_plugin_that_tolerates_the_pool(monkeypatch):
    text = _cfg("aws", "cluster:\n  pools:\n    gpu: {machine_type: g5.2xlarge, max_nodes: 2}\n").replace(
        "allowed_users: [a]}\n", "allowed_users: [a]}\n  profiles:\n    - {name: GPU, cpu: 4, memory: 16G, gpu: 1}\n"
    )
    assert C.load("x", text=text).hub.profiles[0].gpu == 1  # `up` installs a plugin that tolerates the pool
    monkeypatch.setitem(machines.DEVICE_PLUGIN, "aws", machines.DevicePlugin("NVIDIA's chart as shipped", ("nvidia.com/gpu",)))
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=text)
    assert "tolerates only nvidia.com/gpu, not the gpu pool's taint hub.jupyter.org/dedicated" in info.value.problems[0].message
    monkeypatch.setitem(machines.DEVICE_PLUGIN, "aws", None)
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=text)
    assert info.value.problems[0].message.startswith("no NVIDIA device plugin runs on aws's gpu pool")


def test_a_pod_that_does_not_tolerate_its_pools_taint_is_named(monkeypatch):
    from pangeoctl.render import placement

    worker = placement.PLACEMENT["worker"]
    tainted = placement.Placement(worker.labels, (*worker.taints, placement.Taint("example.org/only", "ops")))
    monkeypatch.setitem(placement.PLACEMENT, "worker", tainted)
    monkeypatch.setattr(
        placement, "pod_rules", lambda cloud, pool, spot: {"nodeSelector": {}, "tolerations": [t.toleration() for t in worker.taints]}
    )
    with pytest.raises(C.ConfigError) as info:
        C.load("x", text=_cfg("gcp"))
    assert (
        "a Dask worker of 1 cores and 4G cannot run on the worker pool: its nodes carry taint example.org/only=ops:NoSchedule"
        in info.value.problems[0].message
    )


def test_load_passes_the_callers_host_to_the_kind_check():
    from pangeoctl.config import load_with_warnings

    text = "name: dev\ncloud: kind\nhub:\n  profiles:\n    - {name: Small, cpu: 2, memory: 8G}\n"
    _, small = load_with_warnings("x", text=text, host=Machine("a 2-core laptop", 2, 4 * GIB))
    _, big = load_with_warnings("x", text=text, host=Machine("a workstation", 16, 64 * GIB))
    assert small[0].format("x").startswith("x:5 warning: hub.profiles.0: profile 'Small' (2 CPU, 8G) does not fit a 2-core laptop")
    assert big == []

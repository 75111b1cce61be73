"""What a node gives pods: machine shapes, each cloud's reservations, and the DaemonSets that run there.

Each cloud names its VM sizes systematically (GCE ``n2-standard-8``, EC2 ``m6i.2xlarge``, Azure
``Standard_D8s_v5``), so one parser per cloud and a table of families is enough to know a machine's
vCPUs, memory and GPUs before anything is created. Families absent here are rejected with the known ones
named, rather than guessed at.

A pod is scheduled against a node's *allocatable* resources, not its size:

    allocatable = capacity − kube-reserved − eviction threshold,   and at most ``max_pods`` pods

:func:`allocatable` computes it once, per cloud, with the formula each cloud publishes (sources at each
formula). The DaemonSets that run on every node of a pool take their requests out of that before any
user pod lands (:func:`daemonsets`). On kind and minikube the one node is the machine itself.

Pure data and arithmetic, except :func:`host_machine`, which reads this computer's size (kind's node).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3


@dataclass(frozen=True)
class Machine:
    name: str
    cpu: int
    memory: int  # bytes
    gpus: int = 0


class UnknownMachine(ValueError):
    pass


# GiB of memory per vCPU, by family and shape (from the clouds' machine-family pages).
_GCP: dict[str, dict[str, float]] = {
    "e2": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n1": {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9},
    "n2": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n2d": {"standard": 4, "highmem": 8, "highcpu": 1},
    "n4": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c2": {"standard": 4},
    "c2d": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c3": {"standard": 4, "highmem": 8, "highcpu": 2},
    "c3d": {"standard": 4, "highmem": 8, "highcpu": 2},
    "t2d": {"standard": 4},
    "g2": {"standard": 4},  # one NVIDIA L4 per 4..12 vCPU on the small shapes
}
_AWS = {"m": 4, "r": 8, "c": 2, "t": 4, "g": 4, "p": 8}  # by the family's first letter
_AZURE = {"D": 4, "E": 8, "F": 2, "B": 4, "NC": 7}


def _gib(x: float) -> int:
    return int(x * GIB)


def lookup(cloud: str, name: str) -> Machine:
    """The shape of machine type ``name`` on ``cloud`` (``gcp``, ``aws`` or ``azure``).

    Raises
    ------
    UnknownMachine
        When the name does not follow the cloud's scheme or its family is not known here.
    """
    if cloud == "gcp":
        m = re.fullmatch(r"([a-z]\d+[a-z]?)-(standard|highmem|highcpu)-(\d+)", name)
        if not m or m.group(1) not in _GCP or m.group(2) not in _GCP[m.group(1)]:
            raise UnknownMachine(f"unknown GCE machine type {name!r}; known families: {', '.join(_GCP)}, e.g. n2-standard-4")
        cpu = int(m.group(3))
        gpus = max(1, cpu // 12) if m.group(1) == "g2" else 0
        return Machine(name, cpu, _gib(cpu * _GCP[m.group(1)][m.group(2)]), gpus)
    if cloud == "aws":
        m = re.fullmatch(r"([a-z]+)(\d+)([a-z]*)\.(medium|large|xlarge|(\d+)xlarge)", name)
        if not m or m.group(1)[0] not in _AWS or len(m.group(1)) > 2:
            raise UnknownMachine(f"unknown EC2 instance type {name!r}; known families start with {', '.join(_AWS)}, e.g. m6i.xlarge")
        size = m.group(4)
        cpu = 1 if size == "medium" else 2 if size == "large" else 4 * int(m.group(5) or 1)
        if m.group(1) == "t" and size == "medium":
            cpu = 2
        gpus = 1 if m.group(1)[0] in "gp" else 0
        return Machine(name, cpu, _gib(cpu * _AWS[m.group(1)[0]]), gpus)
    if cloud == "azure":
        m = re.fullmatch(r"Standard_(NC|[A-Z])(\d+)([a-z]*)(?:_([A-Z]\d+))?(?:_v\d+)?", name)
        if not m or m.group(1) not in _AZURE:
            raise UnknownMachine(f"unknown Azure VM size {name!r}; known series: {', '.join(_AZURE)}, e.g. Standard_D4s_v5")
        cpu = int(m.group(2))
        return Machine(name, cpu, _gib(cpu * _AZURE[m.group(1)]), 1 if m.group(1) == "NC" else 0)
    raise UnknownMachine(f"machine types are not looked up for cloud {cloud!r}")


# ---------------------------------------------------------------- single-node targets


def host_machine() -> Machine:
    """This computer, which is kind's node (kind runs the node as a container with the host's CPUs and memory)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX sysconf: assume a small laptop
        memory = 8 * GIB
    return Machine("this computer (kind's node)", os.cpu_count() or 2, memory)


# ---------------------------------------------------------------- allocatable


@dataclass(frozen=True)
class Allocatable:
    """What the scheduler may place on one node: CPU cores, memory bytes, pod count; how it was derived."""

    machine: Machine
    cpu: float
    memory: int
    max_pods: int
    reserved_cpu: float
    reserved_memory: int  # kube-reserved + eviction threshold


EVICTION_HARD = 100 * MIB  # kubelet's default `memory.available<100Mi`, kept by GKE, EKS, AKS ≥ 1.29 and kubeadm


def _progressive(amount: float, steps: tuple[tuple[float, float], ...]) -> float:
    """Sum of ``fraction × slice`` over consecutive slices ``(upper bound, fraction)`` of ``amount``."""
    out, lower = 0.0, 0.0
    for upper, fraction in steps:
        if amount <= lower:
            break
        out += (min(amount, upper) - lower) * fraction
        lower = upper
    return out


# GKE and EKS reserve the same share of CPU: 6 % of the first core, 1 % of the second, 0.5 % of the next
# two, 0.25 % of the rest. GKE: cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes
# ("Memory and CPU reservations"); EKS: the same progression in eksctl pkg/nodebootstrap/reserved.go
# (cpuProgression) and amazon-eks-ami's bootstrap.
_CPU_STEPS = ((1, 0.06), (2, 0.01), (4, 0.005), (float("inf"), 0.0025))
# GKE memory: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the next 112, 2 % above
# 128 GiB (255 MiB on machines under 1 GiB). Same page.
_GKE_MEMORY_STEPS = ((4, 0.25), (8, 0.20), (16, 0.10), (128, 0.06), (float("inf"), 0.02))
GKE_MAX_PODS = 110  # GKE Standard's default pods per node

# AKS CPU reservation by core count (learn.microsoft.com/azure/aks/node-resource-reservations, table
# "CPU reservations"); sizes between rows take the row below.
_AKS_CPU_MILLI = ((1, 60), (2, 100), (4, 140), (8, 180), (16, 260), (32, 420), (64, 740))
# pangeoctl's AKS clusters use Azure CNI Overlay (clouds/azure.py), whose default is 250 pods per node
# (learn.microsoft.com/azure/aks/azure-cni-overlay); AKS ≥ 1.29 reserves min(20 MiB × max pods + 50 MiB,
# 25 % of memory) for kube-reserved (node-resource-reservations, "Memory reservations").
AKS_MAX_PODS = 250

# EKS: max pods = ENIs × (IPv4 addresses per ENI − 1) + 2, the VPC CNI's formula behind amazon-eks-ami's
# eni-max-pods.txt; kube-reserved memory = 11 MiB × max pods + 255 MiB (amazon-eks-ami bootstrap,
# eksctl reserved.go). ENI limits by size for the current general families (m5/m6i/m7i, r…, c…, g5); the
# burstable t3 family has its own.
_EC2_ENI = {"medium": (2, 6), "large": (3, 10), "xlarge": (4, 15), "2xlarge": (4, 15), "4xlarge": (8, 30), "8xlarge": (8, 30), "12xlarge": (8, 30)}
_EC2_ENI_T3 = {"medium": (3, 6), "large": (3, 12), "xlarge": (4, 15), "2xlarge": (4, 15)}
_EC2_ENI_LARGEST = (15, 50)  # 16xlarge and above


def eks_max_pods(instance_type: str) -> int:
    family, _, size = instance_type.partition(".")
    table = _EC2_ENI_T3 if family.startswith("t") else _EC2_ENI
    enis, ips = table.get(size, _EC2_ENI_LARGEST)
    return enis * (ips - 1) + 2


def allocatable(cloud: str, machine: Machine) -> Allocatable:
    """Allocatable resources of a fresh node of ``machine`` on ``cloud`` (kind/minikube: no kube-reserved)."""
    cores, gib = machine.cpu, machine.memory / GIB
    if cloud == "gcp":
        cpu_res = _progressive(cores, _CPU_STEPS)
        mem_res = 255 * MIB if gib < 1 else int(_progressive(gib, _GKE_MEMORY_STEPS) * GIB)
        pods = GKE_MAX_PODS
    elif cloud == "aws":
        cpu_res = _progressive(cores, _CPU_STEPS)
        pods = eks_max_pods(machine.name)
        mem_res = (11 * pods + 255) * MIB
    elif cloud == "azure":
        cpu_res = next((m for c, m in reversed(_AKS_CPU_MILLI) if cores >= c), 60) / 1000
        pods = AKS_MAX_PODS
        mem_res = min((20 * pods + 50) * MIB, machine.memory // 4)
    else:  # kind, minikube: kubeadm's kubelet reserves nothing but the eviction threshold
        cpu_res, mem_res, pods = 0.0, 0, 110
    return Allocatable(
        machine,
        cpu=round(cores - cpu_res, 3),
        memory=machine.memory - mem_res - EVICTION_HARD,
        max_pods=pods,
        reserved_cpu=round(cpu_res, 3),
        reserved_memory=mem_res + EVICTION_HARD,
    )


# ---------------------------------------------------------------- what else runs on a node


@dataclass(frozen=True)
class SystemPod:
    name: str
    cpu: float
    memory: int


# DaemonSets every node of a pool runs, by cloud, with their requests. They tolerate every taint, so they
# land on all our pools. FIXME(estimate): these are the requests in the add-ons' published manifests as far
# as we could read them, not measured on a fresh cluster of each cloud; replace them with
# `kubectl describe node` figures when a cluster is measured.
DAEMONSETS: dict[str, tuple[SystemPod, ...]] = {
    # GKE Standard with Dataplane V2 (anetd replaces kube-proxy), Cloud Logging/Monitoring agents, PD CSI.
    "gcp": (
        SystemPod("anetd", 0.1, 0),
        SystemPod("fluentbit-gke", 0.1, 200 * MIB),
        SystemPod("gke-metrics-agent", 0.008, 60 * MIB),
        SystemPod("pdcsi-node", 0.01, 20 * MIB),
        SystemPod("netd", 0.002, 30 * MIB),
    ),
    # EKS managed add-ons pangeoctl installs (clouds/aws.py) and Calico's node agent.
    "aws": (
        SystemPod("aws-node", 0.025, 0),
        SystemPod("kube-proxy", 0.1, 0),
        SystemPod("ebs-csi-node", 0.03, 120 * MIB),
        SystemPod("calico-node", 0.25, 0),
    ),
    # AKS with Azure CNI powered by Cilium (no kube-proxy).
    "azure": (
        SystemPod("cilium", 0.1, 128 * MIB),
        SystemPod("azure-cns", 0.04, 250 * MIB),
        SystemPod("cloud-node-manager", 0.05, 50 * MIB),
        SystemPod("csi-azuredisk-node", 0.03, 60 * MIB),
        SystemPod("csi-azurefile-node", 0.03, 60 * MIB),
    ),
    # The single node of kind/minikube is also the control plane: kubeadm's static pods (kube-apiserver
    # 250m, controller-manager 200m, scheduler 100m, etcd 100m/100Mi), CoreDNS (one replica here:
    # 100m/70Mi) and the CNI (kindnet 100m/50Mi on kind; calico-node 250m on minikube --cni calico).
    "kind": (
        SystemPod("control plane (kubeadm)", 0.65, 100 * MIB),
        SystemPod("coredns", 0.1, 70 * MIB),
        SystemPod("kindnet", 0.1, 50 * MIB),
    ),
    "minikube": (
        SystemPod("control plane (kubeadm)", 0.65, 100 * MIB),
        SystemPod("coredns", 0.1, 70 * MIB),
        SystemPod("calico-node", 0.25, 0),
    ),
}

GPU_RESOURCE = "nvidia.com/gpu"


@dataclass(frozen=True)
class DevicePlugin:
    """The NVIDIA device plugin DaemonSet a cloud runs on GPU nodes, and the taint keys it tolerates (None: all)."""

    installed_by: str
    tolerates: tuple[str, ...] | None


# Without the device plugin a GPU node advertises no `nvidia.com/gpu`, and a pod asking for one never schedules.
# (NVIDIA's own chart tolerates only `nvidia.com/gpu`, so on a pool that also carries the user taint it would
# never run: FIELD-NOTES, "Real charts".)
DEVICE_PLUGIN: dict[str, DevicePlugin | None] = {
    # GKE runs its own plugin on GPU nodes (with gpu-driver-version set), tolerating every NoSchedule taint.
    "gcp": DevicePlugin("GKE", None),
    # EKS and AKS run none on our pool by themselves; `up` installs NVIDIA's chart pinned to the gpu pool and
    # tolerating every NoSchedule taint (clouds/base.py, nvidia_device_plugin).
    "aws": DevicePlugin("pangeoctl up (NVIDIA's chart)", None),
    "azure": DevicePlugin("pangeoctl up (NVIDIA's chart)", None),
}


def daemonsets(cloud: str, pool: str, taints: tuple[str, ...] = ()) -> tuple[SystemPod, ...]:
    """System pods on every node of ``pool`` (the GPU pool also runs the device plugin when it tolerates ``taints``)."""
    pods = DAEMONSETS.get(cloud, ())
    plugin = DEVICE_PLUGIN.get(cloud)
    if pool == "gpu" and plugin is not None and (plugin.tolerates is None or set(taints) <= set(plugin.tolerates)):
        pods += (SystemPod("nvidia-device-plugin", 0, 0),)
    return pods

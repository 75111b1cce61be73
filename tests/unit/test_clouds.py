"""The exact commands `up` and `down` run on each cloud, checked argv by argv with the recording runner."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from pangeoctl import clouds
from pangeoctl import config as C
from pangeoctl.helm import chart_dir
from pangeoctl.runner import DryRunRunner, MissingTool, RecordingRunner, RunError
from pangeoctl.targets.base import TargetError
from pangeoctl.targets.kubernetes import KubernetesTarget
from tests.conftest import CONFIGS, SITE

S = Path("/state")
CHART = str(chart_dir())


class _Pinned(KubernetesTarget):
    """The Kubernetes target with the deployment's state dir pinned, so argv can be compared as text."""

    def __init__(self, cloud: str, state: Path):
        super().__init__(clouds.get(cloud))
        self.pinned = state

    def state(self, cfg, site):  # noqa: ANN001, ANN201
        return self.pinned


HUB_IP = "203.0.113.7"


def resolving(runner: RecordingRunner, cfg) -> RecordingRunner:  # noqa: ANN001
    """``runner`` where the hub's address is known and its domain already resolves to it (a DNS record made
    earlier), unless the test set its own answers."""
    if cfg.hub.domain and not runner.dns:
        runner.dns = {cfg.hub.domain: frozenset({HUB_IP})}
        for probe in (("addresses", "describe"), ("public-ip", "show"), ("get", "service", "proxy-public")):
            runner.outputs.setdefault(probe, HUB_IP + "\n")
    return runner


def up(cfg, runner, echo=lambda m: None, out: Path = S):  # noqa: ANN001, ANN201
    """`up` through the Kubernetes target (files not written: the runner records, nothing is created); the
    hub's domain resolves already unless the runner says otherwise."""
    resolving(runner, cfg)
    target = _Pinned(cfg.cloud, out)
    plan = target.plan(cfg, SITE, out)
    plan.files = {}
    target.apply(plan, runner, echo)
    return plan


def down(cfg, runner, *, delete_cluster: bool, purge_data: bool):  # noqa: ANN001, ANN201
    return _Pinned(cfg.cloud, S).down(cfg, SITE, runner, lambda m: None, purge=purge_data, delete_cluster=delete_cluster)


def _up(name: str, runner: RecordingRunner | None = None) -> list[str]:
    r = runner or RecordingRunner()
    up(C.load(CONFIGS / name), r)
    return [shlex.join(a) for a in r.argvs]


def _cluster(name: str, runner: RecordingRunner | None = None, text: str | None = None) -> list[str]:
    """The cluster side of `up` for a fixture config: prepare, create, credentials — through a recording runner."""
    r = runner or RecordingRunner()
    cfg = C.load(CONFIGS / name) if text is None else C.load("x", text=text)
    cloud = clouds.get(cfg.cloud)
    handle = cloud.handle(cfg, S)
    for cmd in [*cloud.prepare(cfg), *cloud.create(cfg, S / cloud.spec(cfg)[0], handle), *cloud.credentials(cfg, handle)]:
        r.run(cmd)
    return [shlex.join(a) for a in r.argvs]


def _text(name: str, extra: str = "") -> str:
    return (CONFIGS / name).read_text() + extra


def test_gcp_new_cluster_full_argv():
    zone = "--project geo-lab-123 --zone us-central1-a"
    version = C.load(CONFIGS / "gcp.happy.yaml").cluster.kubernetes_version
    assert _cluster("gcp.happy.yaml") == [
        "gcloud services enable container.googleapis.com compute.googleapis.com --project geo-lab-123",
        f"gcloud container clusters create geo-lab {zone} --release-channel regular --cluster-version {version} --enable-ip-alias "
        "--enable-dataplane-v2 --workload-pool geo-lab-123.svc.id.goog --labels pangeoctl=geo-lab --machine-type e2-standard-2 "
        "--disk-size 100 --enable-autoscaling --num-nodes 1 --min-nodes 1 --max-nodes 2 "
        "--node-labels pangeoctl.io/pool=core,hub.jupyter.org/node-purpose=core --workload-metadata GKE_METADATA",
        f"gcloud container node-pools create user --cluster geo-lab {zone} --machine-type n2-highmem-4 --disk-size 100 "
        "--enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=user,hub.jupyter.org/node-purpose=user "
        "--workload-metadata GKE_METADATA --node-taints hub.jupyter.org/dedicated=user:NoSchedule",
        # spot: the cap of 20 shared by two pools of equivalent machine types (n2 and n2d, 8 vCPU / 32 GiB)
        f"gcloud container node-pools create worker --cluster geo-lab {zone} --machine-type n2-standard-8 --disk-size 100 "
        "--enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=worker,k8s.dask.org/node-purpose=worker "
        "--workload-metadata GKE_METADATA --node-taints k8s.dask.org/dedicated=worker:NoSchedule --spot",
        f"gcloud container node-pools create worker-2 --cluster geo-lab {zone} --machine-type n2d-standard-8 --disk-size 100 "
        "--enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=worker,k8s.dask.org/node-purpose=worker "
        "--workload-metadata GKE_METADATA --node-taints k8s.dask.org/dedicated=worker:NoSchedule --spot",
        f"gcloud container clusters get-credentials geo-lab {zone}",
        "kubectl --kubeconfig /state/kubeconfig apply -f -",
    ]


def test_gcp_regional_bounds_totals_not_per_zone_counts():
    argvs = _cluster("gcp.happy.regional-gpu.yaml")
    worker = next(a for a in argvs if "node-pools create worker " in a)
    assert "--region europe-west4" in worker and "--total-max-nodes 50" in worker and "--num-nodes 0" in worker
    assert "--max-nodes" not in worker.replace("--total-max-nodes", "")
    # the core pool's 1 node in total: --num-nodes is per zone, so 1 per zone (3 at creation), bounded to a total of 1–3
    core = next(a for a in argvs if "clusters create" in a)
    assert "--num-nodes 1 --total-min-nodes 1 --total-max-nodes 3" in core
    gpu = next(a for a in argvs if "node-pools create gpu" in a)
    assert "--node-taints hub.jupyter.org/dedicated=user:NoSchedule,nvidia.com/gpu=present:NoSchedule" in gpu
    assert "--accelerator type=nvidia-l4,count=1,gpu-driver-version=default" in gpu
    # the budget API is enabled with the others when a budget is configured
    assert argvs[0] == "gcloud services enable container.googleapis.com compute.googleapis.com billingbudgets.googleapis.com --project big-lab-9"


@pytest.mark.parametrize(
    "forbidden",
    [
        "--enable-basic-auth",
        "--issue-client-certificate",
        "--enable-legacy-authorization",
        "--no-enable-ip-alias",
        "--preemptible",
        "--enable-network-policy",
    ],
)
def test_gcp_never_emits_unsafe_or_legacy_flags(forbidden):
    assert all(forbidden not in a for a in _cluster("gcp.happy.regional-gpu.yaml"))


def test_gcp_storage_class_labels_the_disks_it_creates():
    r = RecordingRunner()
    _cluster("gcp.happy.yaml", r)
    sc = next(c for c in r.commands if c.stdin is not None).stdin.build()
    assert "name: pangeoctl\n" in sc and "provisioner: pd.csi.storage.gke.io" in sc and 'labels: "pangeoctl=geo-lab"' in sc


def test_aws_up_checks_the_account_and_installs_the_autoscaler():
    r = RecordingRunner()
    argvs = _cluster("aws.happy.yaml", r)
    assert argvs[0] == "aws sts get-caller-identity --query Account --output text"
    assert r.commands[0].expect == "012345678901"
    assert argvs[1] == "eksctl create cluster -f /state/cluster.yaml --without-nodegroup --kubeconfig /state/kubeconfig"
    assert all(c.env.get("AWS_PROFILE") == "ocean" for c in r.commands)
    autoscaler = next(a for a in argvs if "cluster-autoscaler" in a)
    assert "--set awsRegion=us-west-2" in autoscaler and "--set autoDiscovery.clusterName=ocean-lab" in autoscaler
    # its own IAM role (IRSA service account made by eksctl), not the node role
    assert "--set rbac.serviceAccount.create=false --set rbac.serviceAccount.name=cluster-autoscaler" in autoscaler
    assert any(a.startswith("kubectl --kubeconfig /state/kubeconfig apply -f -") for a in argvs)  # default gp3 StorageClass
    # NetworkPolicies are enforced (Calico, policy-only) before the release that brings them is installed.
    calico = next(k for k, a in enumerate(argvs) if " calico tigera-operator " in a)
    assert "--set installation.kubernetesProvider=EKS" in argvs[calico] and "--namespace tigera-operator --create-namespace" in argvs[calico]


def test_eks_probes_every_node_group_not_only_the_cluster():
    r = RecordingRunner(done=["cluster"])  # the cluster exists: only its node groups are checked one by one
    argvs = _cluster("aws.happy.yaml", r)
    groups = [c for c in r.commands if c.argv[:3] == ("eksctl", "create", "nodegroup")]
    names = [c.argv[c.argv.index("--include") + 1] for c in groups]
    assert names == ["core", "user-us-west-2a", "user-us-west-2b", "user-us-west-2c", "worker"]
    assert groups[1].unless == ("eksctl", "get", "nodegroup", "--cluster", "ocean-lab", "--region", "us-west-2", "--name", "user-us-west-2a")
    assert not any(a.startswith("eksctl create cluster") for a in argvs)


def test_eks_spec_zonal_user_groups_spot_types_imds_and_nat():
    from pangeoctl.clouds.aws import AWSCloud

    _, spec = AWSCloud().spec(C.load(CONFIGS / "aws.happy.yaml"))
    groups = {g["name"]: g for g in spec["managedNodeGroups"]}
    # home volumes are zonal: one user group per zone (the cap of 10 shared out), the hub's core pool in one zone
    assert [(groups[n]["availabilityZones"], groups[n]["minSize"], groups[n]["maxSize"]) for n in groups if n.startswith("user")] == [
        (["us-west-2a"], 0, 4),
        (["us-west-2b"], 0, 3),
        (["us-west-2c"], 0, 3),
    ]
    assert groups["core"]["availabilityZones"] == ["us-west-2a"] and "availabilityZones" not in groups["worker"]
    assert spec["availabilityZones"] == ["us-west-2a", "us-west-2b", "us-west-2c"]
    # spot: several equivalent instance types
    assert groups["worker"]["instanceTypes"] == ["m6i.2xlarge", "m6a.2xlarge", "m5.2xlarge", "m7i.2xlarge"] and groups["worker"]["spot"]
    assert groups["user-us-west-2a"]["instanceTypes"] == ["r6i.xlarge"]
    # pods cannot reach the node's credentials; the autoscaler and the EBS driver have their own roles
    assert all(g["disablePodIMDS"] and g["disableIMDSv1"] for g in groups.values())
    assert all("iam" not in g for g in groups.values())
    assert spec["iam"]["serviceAccounts"] == [
        {"metadata": {"name": "cluster-autoscaler", "namespace": "kube-system"}, "wellKnownPolicies": {"autoScaler": True}}
    ]
    assert {"name": "aws-ebs-csi-driver", "wellKnownPolicies": {"ebsCSIController": True}} in spec["addons"]
    # one NAT gateway (the default) and private nodes behind it; every resource tagged
    assert spec["vpc"] == {"nat": {"gateway": "Single"}} and all(g["privateNetworking"] for g in groups.values())
    assert spec["metadata"]["tags"] == {"pangeoctl": "ocean-lab"} and all(g["tags"]["pangeoctl"] == "ocean-lab" for g in groups.values())


def test_eks_nat_none_puts_nodes_in_public_subnets():
    from pangeoctl.clouds.aws import AWSCloud

    text = _text("aws.happy.yaml").replace("profile: ocean}", "profile: ocean, nat: none}")
    _, spec = AWSCloud().spec(C.load("x", text=text))
    assert spec["vpc"] == {"nat": {"gateway": "Disable"}} and not any(g["privateNetworking"] for g in spec["managedNodeGroups"])


def test_eks_storage_class_tags_its_volumes():
    r = RecordingRunner()
    _cluster("aws.happy.yaml", r)
    sc = next(c for c in r.commands if c.stdin is not None).stdin.build()
    assert 'tagSpecification_1: "pangeoctl=ocean-lab"' in sc and 'is-default-class: "true"' in sc and 'type: "gp3"' in sc


def test_azure_pools_get_counts_autoscaler_and_spot():
    argvs = _cluster("azure.happy.yaml")
    assert argvs[0].startswith("az group create --subscription ")
    create = argvs[1]
    assert create.startswith("az aks create ") and "--network-dataplane cilium --network-policy cilium" in create
    assert "--node-count 1 --enable-cluster-autoscaler --min-count 1 --max-count 2" in create
    assert "--node-resource-group MC_eo-lab-rg_eo-lab_westeurope" in create
    # nothing read from or written to the user's ~/.ssh
    assert "--generate-ssh-keys" not in create and "--no-ssh-key" in create and "--ssh-access" not in create  # a preview-only flag
    worker = next(a for a in argvs if "nodepool add" in a and "--name worker " in a)
    assert "--node-count 0" in worker and "--priority Spot --eviction-policy Delete --spot-max-price -1" in worker
    # spot: the cap of 20 shared by three pools of equivalent sizes (8 vCPU, 32 GiB)
    sizes = [(a.split("--node-vm-size ")[1].split()[0], a.split("--max-count ")[1].split()[0]) for a in argvs if "--name worker" in a]
    assert sizes == [("Standard_D8s_v5", "7"), ("Standard_D8as_v5", "7"), ("Standard_D8ds_v5", "6")]
    assert all("--tags pangeoctl=eo-lab" in a for a in argvs if "nodepool add" in a)
    assert any("az aks get-credentials" in a and "--file /state/kubeconfig" in a for a in argvs)
    assert not any("az ask" in a for a in argvs)


def test_gpu_pools_get_a_device_plugin_that_tolerates_their_taints():
    gpu = "cluster:\n  pools:\n    gpu: {max_nodes: 2}\n"
    for name in ("aws.happy.yaml", "azure.happy.yaml"):
        argvs = _cluster(name, text=_text(name, gpu))
        plugin = next(a for a in argvs if " nvidia-device-plugin nvidia-device-plugin " in a)
        assert '--set-json \'nodeSelector={"pangeoctl.io/pool":"gpu"}\'' in plugin
        assert "--set affinity=null" in plugin and '--set-json \'tolerations=[{"operator":"Exists","effect":"NoSchedule"}]\'' in plugin
    # GKE runs its own device plugin (it tolerates every NoSchedule taint): nothing to install there
    assert not any("nvidia-device-plugin" in a for a in _cluster("gcp.happy.regional-gpu.yaml"))


def test_existing_cluster_uses_its_context_and_creates_nothing():
    argvs = _up("existing.happy.yaml")
    assert argvs[0] == "kubectl --kubeconfig /etc/kube/campus.yaml --context campus-k8s version --output json"
    assert not any(a.split()[0] in ("gcloud", "eksctl", "az", "kind", "minikube") for a in argvs)
    install = next(a for a in argvs if a.startswith("helm upgrade --install"))
    assert install.endswith("--kube-context campus-k8s --values /state/values.yaml --atomic --wait --timeout 20m")


def test_rerun_on_an_existing_cluster_only_upgrades():
    r = RecordingRunner(done=["describe", "get"])  # every probe says: already there
    argvs = _up("gcp.happy.yaml", r)
    assert not any("create" in a for a in argvs)
    assert any(a.startswith("helm upgrade --install geo-lab") for a in argvs)


def test_a_failing_step_stops_everything_after_it():
    r = RecordingRunner(fail_on=["node-pools", "worker"], stderr="ERROR: (gcloud.container.node-pools.create) Quota 'CPUS' exceeded.")
    with pytest.raises(RunError) as info:
        up(C.load(CONFIGS / "gcp.happy.yaml"), r, lambda m: None)
    assert r.argvs[-1][:5] == ["gcloud", "container", "node-pools", "create", "worker"]
    assert not any(a[0] == "helm" for a in r.argvs)
    assert "exited 1" in str(info.value)
    assert info.value.hint == "a quota is too low for the pools' max nodes: request more in the console, or lower `max_nodes`"


def test_the_secret_goes_on_stdin_never_argv():
    r = RecordingRunner()
    _up("gcp.happy.yaml", r)
    secret_cmd = next(c for c in r.commands if c.stdin is not None and "Secret" in c.stdin.label)
    manifest = secret_cmd.stdin.build()
    assert "kind: Secret" in manifest and "Z2gtc2VjcmV0" in manifest  # base64 of the value
    for c in r.commands:
        assert "gh-secret-value-that-must-never-leak" not in c.shell()


def test_a_missing_secret_stops_before_anything_runs(monkeypatch):
    monkeypatch.delenv("GITHUB_CLIENT_SECRET")
    r = RecordingRunner()
    with pytest.raises(LookupError, match="GITHUB_CLIENT_SECRET is not set"):
        up(C.load(CONFIGS / "gcp.happy.yaml"), r, lambda m: None)
    assert r.argvs == []


def test_a_missing_tool_is_named_with_its_install_hint_before_anything_runs():
    r = RecordingRunner(present=["aws", "kubectl", "helm"])
    with pytest.raises(MissingTool, match="`eksctl` is not installed — install eksctl"):
        up(C.load(CONFIGS / "aws.happy.yaml"), r, lambda m: None)
    assert r.argvs == []


def test_dry_run_prints_and_runs_nothing(tmp_path):
    printed: list[str] = []
    out = tmp_path / "never"
    up(C.load(CONFIGS / "kind.happy.yaml"), DryRunRunner(printed.append), out=out)
    assert printed[0] == (
        "kind get kubeconfig --name dev >/dev/null 2>&1 || "
        f"kind create cluster --name dev --config {out}/kind.yaml --kubeconfig {out}/kubeconfig --wait 120s"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "delete_cmd"),
    [
        ("gcp.happy.yaml", "gcloud container clusters delete geo-lab --project geo-lab-123 --zone us-central1-a --quiet"),
        ("aws.happy.yaml", "eksctl delete cluster --name ocean-lab --region us-west-2 --wait"),
        ("azure.happy.yaml", "az aks delete --subscription 00000000-0000-0000-0000-000000000000 --resource-group eo-lab-rg --name eo-lab --yes"),
        ("kind.happy.yaml", "kind delete cluster --name dev"),
        ("minikube.happy.yaml", "minikube delete --profile dev"),
    ],
)
def test_down_stops_workloads_then_uninstalls_then_deletes(name, delete_cmd):
    cfg = C.load(CONFIGS / name)
    r = RecordingRunner()
    down(cfg, r, delete_cluster=False, purge_data=False)
    heads = [a[:2] if a[0] == "helm" else [a[0], a[a.index("get") if "get" in a else a.index("delete")]] for a in r.argvs]
    assert heads == [["kubectl", "get"], ["kubectl", "delete"], ["helm", "uninstall"]]  # no clusters listed: none to stop
    r = RecordingRunner(outputs={("get", "daskclusters.gateway.dask.org"): "daskcluster.gateway.dask.org/a1\ndaskcluster.gateway.dask.org/b2\n"})
    down(cfg, r, delete_cluster=True, purge_data=True)
    got = [shlex.join(a) for a in r.argvs]
    ns = f"--namespace {cfg.name}"
    assert got[0].endswith(f"get daskclusters.gateway.dask.org {ns} --output name")
    # Dask clusters, then user servers, stopped and waited for (with a limit) before the release goes.
    assert got[1].endswith(f"delete daskcluster.gateway.dask.org/a1 daskcluster.gateway.dask.org/b2 {ns} --wait --timeout=5m")
    assert got[2].endswith(f"delete pods --selector component=singleuser-server {ns} --ignore-not-found --wait --timeout=5m")
    assert got[3].startswith(f"helm uninstall {cfg.name} {ns}")
    assert got[4].startswith("kubectl --kubeconfig /state/kubeconfig delete persistentvolumeclaims --all")
    assert got[5].startswith("kubectl --kubeconfig /state/kubeconfig delete namespace")
    assert got[6] == delete_cmd


def test_down_dry_run_needs_no_tool(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm, no kubectl, no cloud CLI
    printed: list[str] = []
    down(C.load(CONFIGS / "gcp.happy.yaml"), DryRunRunner(printed.append), delete_cluster=True, purge_data=False)
    assert any(line.startswith("helm uninstall geo-lab") for line in printed)
    assert printed[-1].startswith("gcloud container clusters delete geo-lab")


def test_existing_never_deletes_the_cluster():
    with pytest.raises(TargetError, match="never deletes"):
        down(C.load(CONFIGS / "existing.happy.yaml"), RecordingRunner(), delete_cluster=True, purge_data=False)


def test_kubernetes_status_reads_pools_pods_and_address():
    from pangeoctl.kube_status import status

    def node(pool, ready):
        return {"metadata": {"labels": {"pangeoctl.io/pool": pool}}, "status": {"conditions": [{"type": "Ready", "status": ready}]}}

    def pod(component, phase):
        return {"metadata": {"labels": {"component": component}}, "status": {"phase": phase}}

    r = RecordingRunner(
        outputs={
            ("get", "nodes"): json.dumps({"items": [node("core", "True"), node("user", "True"), node("worker", "False")]}),
            ("get", "pods"): json.dumps({"items": [pod("hub", "Running"), pod("proxy", "Running"), pod("singleuser-server", "Running")]}),
            ("get", "service", "proxy-public"): json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}}),
        }
    )
    aws = C.load(CONFIGS / "aws.happy.yaml")
    s = status(aws, r, clouds.get("aws").handle(aws, S))
    assert s["pools"] == {"core": {"nodes": 1, "ready": 1}, "user": {"nodes": 1, "ready": 1}, "worker": {"nodes": 1, "ready": 0}}
    assert s["url"] == "https://hub.ocean-lab.org" and s["up"] and s["user_servers"] == 1
    assert r.argvs[1] == ["kubectl", "--kubeconfig", "/state/kubeconfig", "get", "pods", "--namespace", "ocean-lab", "--output", "json"]


def test_upgrading_a_running_release_shows_the_values_diff():
    from pangeoctl.render.values import render_values

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    installed = render_values(cfg)
    installed["jupyterhub"]["cull"]["timeout"] = 7200
    r = RecordingRunner(outputs={("helm", "get", "values"): json.dumps(installed)})
    said: list[str] = []
    up(cfg, r, said.append)
    diff = next(s for s in said if s.startswith("changes to the running release"))
    assert "-    timeout: 7200" in diff and "+    timeout: 3600" in diff
    heads = [a[:3] for a in r.argvs]
    # Read just before the upgrade: only the reserved address is asked for in between.
    assert heads.index(["helm", "get", "values"]) + 2 == heads.index(["helm", "upgrade", "--install"])
    assert heads[heads.index(["helm", "upgrade", "--install"]) - 1] == ["gcloud", "compute", "addresses"]


def _installs(r: RecordingRunner) -> list[tuple[str, str]]:
    """Each `helm upgrade --install` of the release: (values file, the load balancer IP it pins or "")."""
    out = []
    for a in r.argvs:
        if a[:3] == ["helm", "upgrade", "--install"] and CHART in a:
            pinned = next((x.split("=", 1)[1] for x in a if x.startswith("jupyterhub.proxy.service.loadBalancerIP=")), "")
            out.append((Path(a[a.index("--values") + 1]).name, pinned))
    return out


@pytest.mark.parametrize("name", ["gcp.happy.yaml", "azure.happy.yaml"])
def test_https_waits_for_the_dns_record_then_turns_on(name):
    """First `up`: the reserved IP is known before the install, the DNS record is told, the release runs with
    HTTPS off until the name resolves (here after 90 s), then with HTTPS on — both on that IP."""
    cfg = C.load(CONFIGS / name)
    r = RecordingRunner(
        outputs={("addresses", "describe"): "34.1.2.3\n", ("public-ip", "show"): "34.1.2.3\n"},
        dns={cfg.hub.domain: ["34.1.2.3"]},
        dns_after={cfg.hub.domain: 90},
    )
    said: list[str] = []
    up(cfg, r, said.append)
    assert _installs(r) == [("values-http.yaml", "34.1.2.3"), ("values.yaml", "34.1.2.3")]
    assert r.slept == 90
    told = next(i for i, s in enumerate(said) if f"{cfg.hub.domain}. A 34.1.2.3" in s)
    assert "HTTPS is off until then" in said[told]
    assert any("resolves to the hub: turning HTTPS on" in s for s in said[told:])


@pytest.mark.parametrize("name", ["gcp.happy.yaml", "azure.happy.yaml"])
def test_a_resolving_domain_installs_once_with_https_on_the_reserved_ip(name):
    """A rerun (the record exists): one install, HTTPS on, on the same reserved IP — no HTTP-only detour."""
    cfg = C.load(CONFIGS / name)
    r = RecordingRunner(outputs={("addresses", "describe"): "34.1.2.3\n", ("public-ip", "show"): "34.1.2.3\n"}, dns={cfg.hub.domain: ["34.1.2.3"]})
    up(cfg, r)
    assert _installs(r) == [("values.yaml", "34.1.2.3")] and r.slept == 0


def test_a_running_hub_keeps_https_when_this_machine_cannot_resolve_its_domain():
    """A rerun from a laptop whose resolver does not see the record: the release has HTTPS on, so it stays on."""
    from pangeoctl.render.values import render_values

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    running = json.dumps(render_values(cfg))
    r = RecordingRunner(outputs={("addresses", "describe"): "34.1.2.3\n", ("helm", "get", "values"): running}, dns={"elsewhere.org": ["1.1.1.1"]})
    up(cfg, r)
    assert _installs(r) == [("values.yaml", "34.1.2.3")] and r.slept == 0


def test_a_changed_domain_waits_for_its_own_record_before_https():
    """The running release has HTTPS on for the old name; pangeo.yaml now names another that does not resolve
    yet: Let's Encrypt must not be sent to it, so the new name gets the HTTP-only stage and the wait."""
    from pangeoctl.render.values import render_values

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    old = cfg.model_copy(update={"hub": cfg.hub.model_copy(update={"domain": "old.geo-lab.org"})})
    r = RecordingRunner(
        outputs={("addresses", "describe"): "34.1.2.3\n", ("helm", "get", "values"): json.dumps(render_values(old))},
        dns={cfg.hub.domain: ["34.1.2.3"], "old.geo-lab.org": ["34.1.2.3"]},
        dns_after={cfg.hub.domain: 30},
    )
    up(cfg, r)
    assert _installs(r) == [("values-http.yaml", "34.1.2.3"), ("values.yaml", "34.1.2.3")] and r.slept == 30


@pytest.mark.parametrize("name", ["gcp.happy.yaml", "azure.happy.yaml"])
@pytest.mark.parametrize("https", [True, False])
def test_an_unreadable_reserved_address_stops_before_an_unpinned_install(name, https):
    """The reserve step ran but reading the address printed nothing: installing unpinned would give the hub
    another address than the DNS record's, so `up` stops (exit 1) and installs nothing."""
    cfg = C.load(CONFIGS / name)
    if not https:
        cfg = cfg.model_copy(update={"hub": cfg.hub.model_copy(update={"https": cfg.hub.https.model_copy(update={"enabled": False})})})
    r = RecordingRunner(outputs={("addresses", "describe"): "", ("public-ip", "show"): ""}, dns={cfg.hub.domain: ["34.1.2.3"]})
    with pytest.raises(TargetError, match=r"could not read the hub's reserved IP address .* gave ''\): the release is not installed") as e:
        up(cfg, r)
    assert e.value.code == 1 and _installs(r) == []
    probe = next(c for c in r.commands if "describe" in c.argv or "show" in c.argv)
    assert shlex.split(str(e.value).split("`")[1]) == list(probe.argv)  # a command to paste, quoted for the shell


def test_aws_https_waits_for_the_load_balancers_name():
    """AWS: the load balancer (and its name) exists only after the first install; the CNAME is told once it
    appears, and HTTPS turns on when the domain resolves to the load balancer's addresses."""
    cfg = C.load(CONFIGS / "aws.happy.yaml")
    elb = "a1b2.elb.us-west-2.amazonaws.com"
    r = RecordingRunner(
        outputs={("get", "service", "proxy-public"): ["", "", elb]},  # no Service yet; then no address yet; then its name
        dns={cfg.hub.domain: ["198.51.100.4"], elb: ["198.51.100.4", "198.51.100.5"]},
        dns_after={cfg.hub.domain: 45},
    )
    said: list[str] = []
    up(cfg, r, said.append)
    assert _installs(r) == [("values-http.yaml", ""), ("values.yaml", "")]
    assert any(f"{cfg.hub.domain}. CNAME {elb}." in s for s in said)
    assert r.slept == 45


def test_https_stays_off_with_a_clear_message_when_the_record_never_comes():
    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    r = RecordingRunner(outputs={("addresses", "describe"): "34.1.2.3\n"}, dns={cfg.hub.domain: ["192.0.2.99"]})  # an old record
    said: list[str] = []
    with pytest.raises(TargetError) as e:
        up(cfg, r, said.append)
    assert _installs(r) == [("values-http.yaml", "34.1.2.3")]  # the hub runs (HTTP only); Let's Encrypt never tried
    assert e.value.code == 1 and r.slept == 20 * 60
    assert "create the DNS record hub.geo-lab.org. A 34.1.2.3, then run `pangeoctl up` again" in str(e.value)
    assert sum("still waiting for hub.geo-lab.org" in s for s in said) == 19  # a line a minute, never silent


def test_dry_run_shows_the_https_stages_without_waiting(capsys):
    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    lines: list[str] = []
    target = _Pinned("gcp", S)

    class NoTools(DryRunRunner):  # as on a laptop without gcloud, whatever this machine has
        def which(self, tool: str) -> None:
            return None

    target.apply(target.plan(cfg, SITE, S), NoTools(lines.append), lines.append)
    text = "\n".join(lines)
    plain, wait, final = (
        text.index("/state/values-http.yaml"),
        text.index("# then wait until hub.geo-lab.org resolves"),
        text.rindex("/state/values.yaml"),
    )
    assert plain < wait < final
    # no gcloud here, so the address is not known: both installs show the placeholder, pinned alike
    assert text.count("--set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP") == 2
    script = target.plan(cfg, SITE, S).script()
    assert "--values /state/values-http.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP" in script
    assert "--values /state/values.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP" in script


def test_the_http_stage_differs_from_the_release_only_in_https():
    """values-http.yaml is the same release with HTTPS off: no autohttps, and in-cluster addresses through
    proxy-public (proxy-http exists only with autohttps)."""
    from pangeoctl.render.values import render_values
    from pangeoctl.targets.kubernetes import without_https

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    final, plain = render_values(cfg), render_values(without_https(cfg))
    assert final["jupyterhub"]["proxy"]["https"]["enabled"] and "https" not in plain["jupyterhub"]["proxy"]
    env = plain["jupyterhub"]["singleuser"]["extraEnv"]
    assert env["DASK_GATEWAY__ADDRESS"].startswith("http://proxy-public/") and final["jupyterhub"]["singleuser"]["extraEnv"][
        "DASK_GATEWAY__ADDRESS"
    ].startswith("http://proxy-http:8000/")
    final["jupyterhub"]["proxy"].pop("https")
    assert {k: v for k, v in final.items() if k != "jupyterhub"} == {k: v for k, v in plain.items() if k != "jupyterhub"}


def test_check_reads_its_service_token_from_the_hub_secret():
    import base64

    from pangeoctl.checks import admin_token_from_cluster

    r = RecordingRunner(outputs={("get", "secret", "hub"): base64.b64encode(b"s3rvice-token").decode()})
    gcp = C.load(CONFIGS / "gcp.happy.yaml")
    assert admin_token_from_cluster(gcp, r, clouds.get("gcp").handle(gcp, S)) == "s3rvice-token"
    assert r.argvs == [
        [
            "kubectl",
            "--kubeconfig",
            "/state/kubeconfig",
            "get",
            "secret",
            "hub",
            "--namespace",
            "geo-lab",
            "--output",
            "jsonpath={.data.hub\\.services\\.pangeoctl\\.apiToken}",
        ]
    ]
    assert "s3rvice-token" not in r.commands[0].shell()


# ---------------------------------------------------------------- re-runs: a changed pool is planned, not skipped


def _gke_pool(name: str, role: str, machine: str, lo: int, hi: int, spot: bool = False, disk: int = 100) -> dict:
    return {
        "name": name,
        "config": {"machineType": machine, "diskSizeGb": disk, "spot": spot, "labels": {"pangeoctl.io/pool": role}},
        "autoscaling": {"enabled": True, "minNodeCount": lo, "maxNodeCount": hi},
    }


def test_gke_changed_pools_are_planned_as_updates_or_replacements():
    from pangeoctl.clouds.gcp import GCPCloud

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    cloud = GCPCloud()
    probe = cloud.pools_probe(cfg)
    assert probe is not None and shlex.join(probe.argv) == (
        "gcloud container node-pools list --cluster geo-lab --project geo-lab-123 --zone us-central1-a --format json"
    )
    listing = [
        _gke_pool("default-pool", "core", "e2-standard-2", 1, 2),  # unchanged
        _gke_pool("user", "user", "n2-highmem-4", 0, 5),  # max_nodes raised to 10 in pangeo.yaml
        _gke_pool("worker", "worker", "n2-standard-8", 0, 10, spot=False),  # spot turned on in pangeo.yaml
        _gke_pool("worker-2", "worker", "n2d-standard-8", 0, 10, spot=True),  # unchanged
        _gke_pool("gpu", "gpu", "g2-standard-8", 0, 2),  # no longer configured
    ]
    changes = {c.pool: c for c in cloud.pool_changes(cfg, json.dumps(listing))}
    assert set(changes) == {"user", "worker", "gpu"}
    assert changes["user"].action == "update" and changes["user"].changes == ("nodes 0–5 → 0–10",)
    assert [shlex.join(c.argv) for c in changes["user"].commands] == [
        "gcloud container node-pools update user --cluster geo-lab --project geo-lab-123 --zone us-central1-a --enable-autoscaling --min-nodes 0 --max-nodes 10"
    ]
    assert changes["worker"].action == "replace" and "spot false → true" in changes["worker"].changes
    assert [c.argv[:4] for c in changes["worker"].commands] == [
        ("gcloud", "container", "node-pools", "delete"),
        ("gcloud", "container", "node-pools", "create"),
    ]
    assert changes["worker"].describe().endswith("needs a new pool (drain, delete, create)")
    assert changes["gpu"].action == "delete"


def test_gke_machine_type_changes_in_place_by_recreating_nodes():
    from pangeoctl.clouds.gcp import GCPCloud

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    listing = [_gke_pool("default-pool", "core", "e2-standard-4", 1, 2)]
    (change,) = GCPCloud().pool_changes(cfg, json.dumps(listing))
    assert change.action == "update" and change.changes == ("machine type e2-standard-4 → e2-standard-2 (nodes recreated)",)
    assert change.commands[0].argv[-4:] == ("--machine-type", "e2-standard-2", "--disk-size", "100")


def test_eks_changed_node_groups_are_scaled_or_replaced():
    from pangeoctl.clouds.aws import AWSCloud

    cfg = C.load(CONFIGS / "aws.happy.yaml")
    cloud = AWSCloud()
    assert cloud.pools_probe(cfg).argv == ("eksctl", "get", "nodegroup", "--cluster", "ocean-lab", "--region", "us-west-2", "--output", "json")
    listing = [
        {"Name": "core", "MinSize": 1, "MaxSize": 2, "InstanceType": "t3.large"},
        {"Name": "user-us-west-2a", "MinSize": 0, "MaxSize": 2, "InstanceType": "r6i.xlarge"},
        {"Name": "worker", "MinSize": 0, "MaxSize": 20, "InstanceType": "m5.xlarge"},
    ]
    changes = {c.pool: c for c in cloud.pool_changes(cfg, json.dumps(listing), spec_path=S / "cluster.yaml")}
    assert set(changes) == {"user-us-west-2a", "worker"}
    assert [shlex.join(c.argv) for c in changes["user-us-west-2a"].commands] == [
        "eksctl scale nodegroup --cluster ocean-lab --region us-west-2 --name user-us-west-2a --nodes-min 0 --nodes-max 4"
    ]
    assert changes["worker"].action == "replace"
    assert [shlex.join(c.argv) for c in changes["worker"].commands] == [
        "eksctl delete nodegroup --cluster ocean-lab --region us-west-2 --name worker --drain --wait",
        "eksctl create nodegroup -f /state/cluster.yaml --include worker",
    ]


def test_eks_spot_and_disk_changes_are_read_from_the_eks_api():
    """eksctl's listing has no capacity type or disk: `up` reads each running group from the EKS API, so a
    group that became spot, or whose disk grew, is replaced — sizes and types alone would have said nothing."""
    cfg = C.load(CONFIGS / "aws.happy.yaml")
    worker = next(p for p in cfg.pools().values() if p.spot)
    user = cfg.pools()["user"]
    listing = [
        {"Name": "core", "MinSize": 1, "MaxSize": 2, "InstanceType": "t3.large"},
        {"Name": "user-us-west-2a", "MinSize": 0, "MaxSize": 4, "InstanceType": "r6i.xlarge"},
        {"Name": "worker", "MinSize": 0, "MaxSize": worker.max_nodes, "InstanceType": ",".join(spot_types_of(cfg, "worker"))},
    ]

    def group(capacity: str, disk_tag: int) -> str:
        return json.dumps({"nodegroup": {"capacityType": capacity, "diskSize": None, "tags": {"pangeoctl.io/disk-gb": str(disk_tag)}}})

    r = RecordingRunner(
        outputs={
            ("eksctl", "get", "nodegroup"): json.dumps(listing),
            ("describe-nodegroup", "worker"): group("ON_DEMAND", worker.disk_gb),  # pangeo.yaml says spot
            ("describe-nodegroup", "user-us-west-2a"): group("ON_DEMAND", user.disk_gb + 100),  # a smaller disk wanted now
            ("describe-nodegroup", "core"): group("ON_DEMAND", cfg.pools()["core"].disk_gb),
        }
    )
    said: list[str] = []
    up(cfg, r, said.append)
    cmds = [shlex.join(a) for a in r.argvs]
    assert "worker pool: spot false → true — needs a new pool (drain, delete, create)" in said
    assert f"user-us-west-2a pool: disk {user.disk_gb + 100} GB → {user.disk_gb} GB — needs a new pool (drain, delete, create)" in said
    assert not any(s.startswith("core pool") for s in said)
    for name in ("worker", "user-us-west-2a"):
        delete = cmds.index(f"eksctl delete nodegroup --cluster ocean-lab --region us-west-2 --name {name} --drain --wait")
        assert cmds[delete + 1] == f"eksctl create nodegroup -f /state/cluster.yaml --include {name}"
    describe = [c for c in r.commands if "describe-nodegroup" in c.argv]
    assert {c.argv[c.argv.index("--nodegroup-name") + 1] for c in describe} == {"core", "user-us-west-2a", "worker"} and all(
        c.read_only for c in describe
    )
    # the disk size is written where it is read back
    _, spec = clouds.get("aws").spec(cfg)
    assert {g["name"]: g["tags"]["pangeoctl.io/disk-gb"] for g in spec["managedNodeGroups"]}["worker"] == str(worker.disk_gb)


def spot_types_of(cfg, role: str) -> tuple[str, ...]:  # noqa: ANN001
    from pangeoctl.clouds.base import spot_types

    pool = cfg.pools()[role]
    return spot_types("aws", pool.machine_type or "", pool.spot)


def test_aks_changed_pools_are_updated_or_replaced_and_the_system_pool_moves_through_a_temporary_one():
    from pangeoctl.clouds.azure import AzureCloud

    cfg = C.load(CONFIGS / "azure.happy.yaml")

    def pool(name, role, size, lo, hi, spot=False):
        return {"name": name, "vmSize": size, "minCount": lo, "maxCount": hi, "scaleSetPriority": "Spot" if spot else None, "osDiskSizeGb": 100,
                "nodeLabels": {"pangeoctl.io/pool": role}}  # fmt: skip

    listing = [
        pool("core", "core", "Standard_D4s_v5", 1, 2),
        pool("coretmp", "core", "Standard_D2s_v5", 1, 2),  # left by a replacement that stopped half way
        pool("user", "user", "Standard_E4s_v5", 0, 3),
        pool("worker", "worker", "Standard_D16s_v5", 0, 7, spot=True),
    ]
    changes = {c.pool: c for c in AzureCloud().pool_changes(cfg, json.dumps(listing))}
    # the last System pool cannot be deleted: a temporary System pool holds the hub meanwhile
    assert changes["core"].action == "replace"
    assert [(c.argv[3], c.argv[c.argv.index("--name") + 1]) for c in changes["core"].commands] == [
        ("add", "coretmp"),
        ("delete", "core"),
        ("add", "core"),
        ("delete", "coretmp"),
    ]
    assert all("--mode System" in shlex.join(c.argv) for c in changes["core"].commands if c.argv[3] == "add")
    assert shlex.join(changes["user"].commands[0].argv) == (
        "az aks nodepool update --subscription 00000000-0000-0000-0000-000000000000 --resource-group eo-lab-rg --cluster-name eo-lab "
        "--name user --update-cluster-autoscaler --min-count 0 --max-count 10"
    )
    assert changes["worker"].action == "replace"
    assert [c.argv[:4] for c in changes["worker"].commands] == [("az", "aks", "nodepool", "delete"), ("az", "aks", "nodepool", "add")]
    assert changes["coretmp"].action == "delete"


# ---------------------------------------------------------------- HTTPS needs DNS first


def test_static_address_reserved_and_the_dns_record_printed():
    from pangeoctl.clouds.base import dns_record

    gcp = C.load(CONFIGS / "gcp.happy.yaml")
    cloud = clouds.get("gcp")
    create, label = cloud.reserve_address(gcp)
    assert shlex.join(create.argv) == (
        "gcloud compute addresses create geo-lab-hub --project geo-lab-123 --region us-central1 --description 'pangeoctl geo-lab hub'"
    )
    assert create.unless == ("gcloud", "compute", "addresses", "describe", "geo-lab-hub", "--project", "geo-lab-123", "--region", "us-central1")
    assert label.argv[-2:] == ("--update-labels", "pangeoctl=geo-lab")
    probe = cloud.address_probe(gcp, cloud.handle(gcp, S))
    assert probe.argv[-2:] == ("--format", "value(address)")
    assert dns_record(gcp, "203.0.113.7\n") == "hub.geo-lab.org. A 203.0.113.7"

    az = C.load(CONFIGS / "azure.happy.yaml")
    (ip,) = clouds.get("azure").reserve_address(az)
    assert (
        ip.argv[:4] == ("az", "network", "public-ip", "create") and "--allocation-method" in ip.argv and "MC_eo-lab-rg_eo-lab_westeurope" in ip.argv
    )

    aws = C.load(CONFIGS / "aws.happy.yaml")
    assert clouds.get("aws").reserve_address(aws) == []  # AWS: the load balancer's name, read after the install
    lb = clouds.get("aws").address_probe(aws, clouds.get("aws").handle(aws, S))
    assert lb.argv[-1] == "jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}"
    assert dns_record(aws, "a1b2.elb.us-west-2.amazonaws.com") == "hub.ocean-lab.org. CNAME a1b2.elb.us-west-2.amazonaws.com."


def test_no_domain_no_address():
    az = C.load(CONFIGS / "azure.happy.yaml")
    az = az.model_copy(update={"hub": az.hub.model_copy(update={"domain": None})})
    assert clouds.get("azure").reserve_address(az) == [] and clouds.get("azure").address_probe(az, clouds.get("azure").handle(az, S)) is None


# ---------------------------------------------------------------- teardown: what is left, with its price


def test_gke_leftovers_are_listed_by_label_with_monthly_prices():
    from pangeoctl.clouds.base import find_leftovers

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    r = RecordingRunner(
        outputs={
            ("disks", "list"): "pvc-1a2b\thttps://www.googleapis.com/compute/v1/projects/geo-lab-123/zones/us-central1-a\t10\n",
            ("forwarding-rules", "list"): "a1b2c3\t203.0.113.7\n",
            ("addresses", "list"): "geo-lab-hub\t203.0.113.7\n",
        }
    )
    found = [x.line() for x in find_leftovers(clouds.get("gcp"), cfg, r)]
    assert found == [
        "disk pvc-1a2b (us-central1-a), 10 GB: ~$1.00/month",
        "load balancer a1b2c3 (203.0.113.7): ~$18.25/month",
        "ip geo-lab-hub (203.0.113.7): ~$7.30/month",
    ]
    assert "labels.goog-k8s-cluster-name=geo-lab OR labels.pangeoctl=geo-lab" in r.commands[1].argv
    # a cluster whose deletion failed keeps billing its control plane
    r = RecordingRunner(outputs={("clusters", "list"): "geo-lab\tus-central1-a\n"})
    assert [x.line() for x in find_leftovers(clouds.get("gcp"), cfg, r)] == ["gke cluster geo-lab (us-central1-a): ~$73.00/month"]


def test_eks_leftovers_include_the_nat_gateway():
    from pangeoctl.clouds.base import find_leftovers

    cfg = C.load(CONFIGS / "aws.happy.yaml")
    r = RecordingRunner(
        outputs={
            ("describe-volumes",): "vol-0abc\tus-west-2a\t10\n",
            ("describe-nat-gateways",): "nat-0123\tsubnet-9\n",
            ("get-resources", "Key=pangeoctl,Values=ocean-lab"): "arn:aws:eks:us-west-2:012345678901:cluster/ocean-lab\t"
            "arn:aws:ec2:us-west-2:012345678901:elastic-ip/eipalloc-77\tarn:aws:ec2:us-west-2:012345678901:subnet/subnet-9\n",
            ("get-resources",): "arn:aws:elasticloadbalancing:us-west-2:012345678901:loadbalancer/net/a1b2/c3d4\t"
            "arn:aws:ec2:us-west-2:012345678901:elastic-ip/eipalloc-77\tarn:aws:ec2:us-west-2:012345678901:volume/vol-0abc\t"
            "arn:aws:elasticloadbalancing:us-west-2:012345678901:loadbalancer/a9f8\n",
        }
    )
    found = [x.line() for x in find_leftovers(clouds.get("aws"), cfg, r)]
    assert found == [
        "disk vol-0abc (us-west-2a), 10 GB: ~$0.80/month",
        "nat gateway nat-0123 (subnet-9), plus $0.045/GB processed: ~$32.85/month",
        "load balancer a1b2 (us-west-2): ~$16.43/month",
        "ip eipalloc-77 (us-west-2): ~$3.65/month",
        "load balancer a9f8 (us-west-2): ~$16.43/month",
        # eksctl's own (tagged pangeoctl): a cluster whose deletion failed, free network pieces; the EIP only once
        "eks cluster ocean-lab (us-west-2): ~$73.00/month",
        "subnet subnet-9 (us-west-2)",
    ]
    assert all(c.env == {"AWS_PROFILE": "ocean"} for c in r.commands)


def test_aks_leftovers_by_tag_and_deleting_the_cluster_destroys_homes():
    from pangeoctl.clouds.base import find_leftovers

    cfg = C.load(CONFIGS / "azure.happy.yaml")
    r = RecordingRunner(
        outputs={
            ("disk", "list"): "pvc-9\tMC_eo-lab-rg_eo-lab_westeurope\t10\n",
            ("resource", "list"): "kubernetes\tMicrosoft.Network/loadBalancers\tMC_eo-lab-rg_eo-lab_westeurope\n"
            "pvc-9\tMicrosoft.Compute/disks\tMC_eo-lab-rg_eo-lab_westeurope\n",
        }
    )
    found = [x.line() for x in find_leftovers(clouds.get("azure"), cfg, r)]
    assert found == [
        "disk pvc-9 (MC_eo-lab-rg_eo-lab_westeurope), 10 GB: ~$1.50/month",
        "load balancer kubernetes (MC_eo-lab-rg_eo-lab_westeurope): ~$18.25/month",
    ]
    warning = clouds.get("azure").destroys_data(cfg)
    assert warning is not None and "MC_eo-lab-rg_eo-lab_westeurope" in warning and "home directories" in warning


def test_kind_and_minikube_leftovers_are_only_our_cluster():
    from pangeoctl.clouds.base import find_leftovers

    kind = C.load(CONFIGS / "kind.happy.yaml")
    (q,) = clouds.get("kind").leftover_queries(kind)
    assert q.command.argv == ("kind", "get", "nodes", "--name", "dev")
    assert [x.line() for x in find_leftovers(clouds.get("kind"), kind, RecordingRunner(outputs={("kind",): "dev-control-plane\n"}))] == [
        "kind cluster dev, 1 node container(s): dev-control-plane"
    ]
    mk = C.load(CONFIGS / "minikube.happy.yaml")
    profiles = json.dumps({"invalid": [], "valid": [{"Name": "minikube", "Status": "Running"}, {"Name": "dev", "Status": "Stopped"}]})
    assert [x.line() for x in find_leftovers(clouds.get("minikube"), mk, RecordingRunner(outputs={("profile", "list"): profiles}))] == [
        "minikube profile dev, Stopped"
    ]


# ---------------------------------------------------------------- kind, minikube, existing


def test_kind_maps_the_hub_node_port_to_the_host():
    from pangeoctl.clouds.kind import HOST_PORT, NODE_PORT

    cfg = C.load(CONFIGS / "kind.happy.yaml")
    _, spec = clouds.get("kind").spec(cfg)
    assert spec["nodes"][0]["extraPortMappings"] == [
        {"containerPort": NODE_PORT, "hostPort": HOST_PORT, "listenAddress": "127.0.0.1", "protocol": "TCP"}
    ]
    assert clouds.get("kind").notes(cfg, clouds.get("kind").handle(cfg, S)) == [
        "the hub answers on this machine at http://127.0.0.1:8080 (kind maps it to node port 30080)"
    ]


def test_minikube_is_sized_for_the_default_profile_and_a_worker():
    from pangeoctl.clouds.minikube import sizing

    argv = _cluster("minikube.happy.yaml")[0]
    # Small (1 CPU, 2 G) + a 1-core 1 G Dask worker + the platform (3 CPU, 5 GiB)
    assert "--cpus 5 --memory 8g" in argv
    # the shipped default profiles (Small: 2 CPU, 8 GiB; a 1-core 4 GiB worker) need 6 CPUs and 17 GiB, not 4 and 8
    assert sizing(C.Config(name="dev", cloud="minikube")) == (6, 17)


def test_existing_prints_the_node_labels_to_set():
    cfg = C.load(CONFIGS / "existing.happy.yaml")
    cloud = clouds.get("existing")
    notes = cloud.notes(cfg, cloud.handle(cfg, S))
    k = "kubectl --kubeconfig /etc/kube/campus.yaml --context campus-k8s label nodes NODE"
    assert notes[1:4] == [
        f"  {k} pangeoctl.io/pool=core hub.jupyter.org/node-purpose=core --overwrite",
        f"  {k} pangeoctl.io/pool=user hub.jupyter.org/node-purpose=user --overwrite",
        f"  {k} pangeoctl.io/pool=worker k8s.dask.org/node-purpose=worker --overwrite",
    ]
    assert notes[4].endswith(
        "reach the hub with `kubectl --kubeconfig /etc/kube/campus.yaml --context campus-k8s --namespace shared port-forward service/proxy-public 8080:80`"
    )
    assert cloud.labels_probe(cfg, cloud.handle(cfg, S)).argv[-5:] == ("nodes", "--selector", "pangeoctl.io/pool", "--output", "name")


def test_version_probes_ask_each_cli():
    for name, argv in [
        ("gcp.happy.yaml", "gcloud container get-server-config --project geo-lab-123 --zone us-central1-a --format json"),
        ("aws.happy.yaml", "aws eks describe-cluster-versions --region us-west-2 --output json"),
        ("azure.happy.yaml", "az aks get-versions --subscription 00000000-0000-0000-0000-000000000000 --location westeurope --output json"),
    ]:
        cfg = C.load(CONFIGS / name)
        assert shlex.join(clouds.get(cfg.cloud).versions_probe(cfg).argv) == argv


def test_up_reads_versions_and_pools_through_the_runner():
    """A pinned version the cloud no longer offers stops `up` before anything is created (exit 2); a running pool
    whose bounds changed is updated; with no cluster yet the listings fail and nothing is planned from them."""
    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    offered = json.dumps({"channels": [{"channel": "REGULAR", "defaultVersion": "1.36.1-gke.1", "validVersions": ["1.36.1-gke.1", "1.37.0-gke.2"]}]})
    r = RecordingRunner(outputs={("get-server-config",): offered})
    with pytest.raises(TargetError) as e:
        up(cfg, r)
    assert e.value.code == 2 and str(e.value) == (
        f"GKE does not offer Kubernetes {cfg.cluster.kubernetes_version} for new clusters here (it offers 1.36, 1.37) — "
        'set `cluster.kubernetes_version: "1.36"`'
    )
    assert [a[:3] for a in r.argvs] == [["gcloud", "services", "enable"], ["gcloud", "container", "get-server-config"]]
    listing = json.dumps([_gke_pool("user", "user", "n2-highmem-4", 0, 5)])
    said: list[str] = []
    r = RecordingRunner(outputs={("node-pools", "list"): listing})
    up(cfg, r, said.append)
    assert any(s.startswith("user pool: nodes 0–5") and "update in place" in s for s in said)
    assert any(a[:5] == ["gcloud", "container", "node-pools", "update", "user"] for a in r.argvs)
    r = RecordingRunner(fail_on=["node-pools", "list"], stderr="NOT_FOUND")
    said = []
    up(cfg, r, said.append)  # a failed listing (no cluster yet) plans nothing from it
    assert not any("pool:" in s for s in said)


@pytest.mark.parametrize("nat", ["single", "none", "highly-available"])
def test_eksctl_accepts_every_variant_of_our_cluster_config(nat, schemas):
    import jsonschema

    from pangeoctl.clouds.aws import AWSCloud

    text = _text("aws.happy.yaml", "cluster:\n  pools:\n    gpu: {max_nodes: 2}\n").replace("profile: ocean}", f"profile: ocean, nat: {nat}}}")
    _, spec = AWSCloud().spec(C.load("x", text=text))
    schema = json.loads((schemas / "eksctl-0.230.0.schema.json").read_text())
    assert [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(spec)] == []
    # the GPU pool's cap of 2 holds: two zones, one node each
    assert [(g["name"], g["maxSize"]) for g in spec["managedNodeGroups"]][-2:] == [("gpu-us-west-2a", 1), ("gpu-us-west-2b", 1)]


def test_gke_core_pool_replacement_keeps_a_node_for_the_hub():
    from pangeoctl.clouds.gcp import GCPCloud

    cfg = C.load(CONFIGS / "gcp.happy.yaml")
    listing = [_gke_pool("default-pool", "core", "e2-standard-2", 1, 2, spot=True)]  # spot turned off in pangeo.yaml
    (change,) = GCPCloud().pool_changes(cfg, json.dumps(listing))
    assert change.action == "replace"
    assert [(c.argv[3], c.argv[4]) for c in change.commands] == [
        ("create", "core-tmp"),
        ("delete", "default-pool"),
        ("create", "default-pool"),
        ("delete", "core-tmp"),
    ]
    assert "--node-labels pangeoctl.io/pool=core,hub.jupyter.org/node-purpose=core" in shlex.join(change.commands[0].argv)


# ---------------------------------------------------------------- users' scratch bucket (off by default)


def _scratch(name: str, **identity):  # noqa: ANN003, ANN202
    cfg = C.load(CONFIGS / name)
    ident = cfg.hub.user_identity.model_copy(update={"scratch_bucket": True, **identity})
    return cfg.model_copy(update={"hub": cfg.hub.model_copy(update={"user_identity": ident})})


def test_no_scratch_bucket_by_default():
    for name in ("gcp.happy.yaml", "aws.happy.yaml", "azure.happy.yaml"):
        cfg = C.load(CONFIGS / name)
        assert cfg.scratch_bucket is None and clouds.get(cfg.cloud).scratch(cfg) is None
        assert not any(a[:2] in (["gcloud", "storage"], ["aws", "s3api"]) or a[:2] == ["az", "identity"] for a in map(shlex.split, _up(name)))


def test_gke_scratch_bucket_with_workload_identity():
    cfg = _scratch("gcp.happy.yaml")
    r = RecordingRunner()
    up(cfg, r)
    cmds = [shlex.join(a) for a in r.argvs]
    p = "--project geo-lab-123"
    gsa = "geo-lab-users@geo-lab-123.iam.gserviceaccount.com"
    expected = [
        f"gcloud iam service-accounts create geo-lab-users {p} --display-name 'pangeoctl geo-lab users'",  # first: IAM learns of it slowly
        f"gcloud storage buckets create gs://geo-lab-123-geo-lab-scratch {p} --location us-central1 --uniform-bucket-level-access",
        f"gcloud storage buckets update gs://geo-lab-123-geo-lab-scratch {p} --update-labels pangeoctl=geo-lab --lifecycle-file /state/scratch-lifecycle.json",
        f"gcloud storage buckets add-iam-policy-binding gs://geo-lab-123-geo-lab-scratch {p} --member serviceAccount:{gsa} --role roles/storage.objectUser",
        f"gcloud iam service-accounts add-iam-policy-binding {gsa} {p} --role roles/iam.workloadIdentityUser "
        "--member 'serviceAccount:geo-lab-123.svc.id.goog[geo-lab/pangeo-user]'",
        "kubectl --kubeconfig /state/kubeconfig create serviceaccount pangeo-user --namespace geo-lab",
        f"kubectl --kubeconfig /state/kubeconfig annotate serviceaccount pangeo-user --namespace geo-lab --overwrite iam.gke.io/gcp-service-account={gsa}",
    ]
    first = cmds.index(expected[0])
    assert cmds[first : first + len(expected)] == expected
    # after the namespace, before the release
    assert (
        cmds.index("kubectl --kubeconfig /state/kubeconfig create namespace geo-lab")
        < first
        < next(i for i, c in enumerate(cmds) if c.startswith("helm upgrade --install geo-lab"))
    )
    assert "storage.googleapis.com" in cmds[0] and "iam.googleapis.com" in cmds[0]
    bindings = [c for c in r.commands if "add-iam-policy-binding" in c.argv]
    assert len(bindings) == 2 and all(sum(c.retry) >= 60 for c in bindings)  # they name the new account: tried for a minute
    plan = _Pinned("gcp", S).plan(cfg, SITE, S)
    assert json.loads(plan.files["scratch-lifecycle.json"]) == {"rule": [{"action": {"type": "Delete"}, "condition": {"age": 7}}]}


def test_eks_scratch_bucket_with_an_irsa_role_for_that_bucket_only():
    cfg = _scratch("aws.happy.yaml")
    assert cfg.scratch_bucket == "ocean-lab-scratch-012345678901"
    _, spec = clouds.get("aws").spec(cfg)
    (sa,) = [a for a in spec["iam"]["serviceAccounts"] if a["metadata"]["name"] == "pangeo-user"]
    assert sa["metadata"]["namespace"] == cfg.name and sa["roleName"] == f"{cfg.name}-scratch-us-west-2"
    resources = {r for st in sa["attachPolicy"]["Statement"] for r in [st["Resource"]]}
    assert resources == {"arn:aws:s3:::ocean-lab-scratch-012345678901", "arn:aws:s3:::ocean-lab-scratch-012345678901/*"}
    arn = "arn:aws:iam::012345678901:role/ocean-lab-scratch-us-west-2"
    r = RecordingRunner(outputs={("iam", "get-role"): arn + "\n"})
    up(cfg, r)
    cmds = [shlex.join(a) for a in r.argvs]
    b = "ocean-lab-scratch-012345678901"
    first = cmds.index(f"aws s3api create-bucket --bucket {b} --region us-west-2 --create-bucket-configuration LocationConstraint=us-west-2")
    assert cmds[first + 1 : first + 4] == [
        f"aws s3api put-bucket-tagging --bucket {b} --tagging 'TagSet=[{{Key=pangeoctl,Value=ocean-lab}}]'",
        f"aws s3api put-bucket-lifecycle-configuration --bucket {b} --lifecycle-configuration file:///state/scratch-lifecycle.json",
        "eksctl create iamserviceaccount --config-file /state/cluster.yaml --include ocean-lab/pangeo-user --approve",
    ]
    # eksctl skips the account when its role exists, even after `down --purge` took the namespace with it:
    # the ServiceAccount is made (if missing) and annotated with the role that exists
    assert cmds[first + 4 : first + 7] == [
        "aws iam get-role --role-name ocean-lab-scratch-us-west-2 --query Role.Arn --output text",
        "kubectl --kubeconfig /state/kubeconfig create serviceaccount pangeo-user --namespace ocean-lab",
        f"kubectl --kubeconfig /state/kubeconfig annotate serviceaccount pangeo-user --namespace ocean-lab --overwrite eks.amazonaws.com/role-arn={arn}",
    ]
    # without the role, `up` stops there and says so (exit 1), before the release
    r = RecordingRunner(outputs={("iam", "get-role"): ""})
    with pytest.raises(TargetError) as e:
        up(cfg, r)
    assert e.value.code == 1 and "could not read the scratch role ocean-lab-scratch-us-west-2 (`AWS_PROFILE=ocean aws iam get-role" in str(e.value)
    assert not any(a[:2] == ["helm", "upgrade"] and CHART in a for a in r.argvs)
    plan = _Pinned("aws", S).plan(cfg, SITE, S)
    assert json.loads(plan.files["scratch-lifecycle.json"])["Rules"][0]["Expiration"] == {"Days": 7}
    # us-east-1 refuses a LocationConstraint
    east = _scratch("aws.happy.yaml")
    east = east.model_copy(update={"aws": east.aws.model_copy(update={"region": "us-east-1"})})
    create = clouds.get("aws").scratch_steps(east, clouds.get("aws").handle(east, S), S)[0]
    assert "--create-bucket-configuration" not in create.argv


def test_aks_scratch_storage_with_workload_identity():
    cfg = _scratch("azure.happy.yaml", bucket="eolabscratch")
    issuer = "https://westeurope.oic.prod-aks.azure.com/tenant/uuid/"
    account_id = "/subscriptions/s/resourceGroups/eo-lab-rg/providers/Microsoft.Storage/storageAccounts/eolabscratch"
    r = RecordingRunner(
        outputs={
            ("oidcIssuerProfile.issuerUrl",): issuer + "\n",
            ("identity", "show"): "client-1\tprincipal-2\n",
            ("account", "show", "id"): account_id + "\n",
        }
    )
    up(cfg, r)
    cmds = [a for a in r.argvs]
    fed = next(a for a in cmds if a[:4] == ["az", "identity", "federated-credential", "create"])
    assert fed[fed.index("--issuer") + 1] == issuer and fed[fed.index("--subject") + 1] == "system:serviceaccount:eo-lab:pangeo-user"
    role = next(a for a in cmds if a[:4] == ["az", "role", "assignment", "create"])
    assert role[role.index("--assignee-object-id") + 1] == "principal-2"
    assert role[role.index("--scope") + 1] == account_id + "/blobServices/default/containers/scratch"
    annotate = next(a for a in cmds if "annotate" in a)
    assert annotate[-1] == "azure.workload.identity/client-id=client-1"
    create = next(a for a in cmds if a[:4] == ["az", "storage", "account", "create"])
    assert "--allow-blob-public-access" in create and create[create.index("--allow-blob-public-access") + 1] == "false"
    # a read that gives nothing stops `up` with the command to run, rather than leaving pods without identity
    for empty in ("oidcIssuerProfile.issuerUrl", "identity"):
        outputs = {
            ("oidcIssuerProfile.issuerUrl",): issuer + "\n",
            ("identity", "show"): "client-1\tprincipal-2\n",
            ("account", "show", "id"): account_id + "\n",
        }
        outputs[next(k for k in outputs if k[0] == empty)] = ""
        with pytest.raises(TargetError) as e:
            up(cfg, RecordingRunner(outputs=outputs))
        assert e.value.code == 1 and "could not read" in str(e.value) and "pangeoctl up` again" in str(e.value)
    # the plan shows the follow-ups with placeholders
    script = _Pinned("azure", S).plan(cfg, SITE, S).script()
    assert "--issuer ISSUER_URL" in script and "azure.workload.identity/client-id=CLIENT_ID" in script


def test_scratch_values_give_users_and_dask_pods_the_identity():
    from pangeoctl.render.values import render_values

    for name, url in (("gcp.happy.yaml", "gs://geo-lab-123-geo-lab-scratch"), ("aws.happy.yaml", "s3://ocean-lab-scratch-012345678901")):
        cfg = _scratch(name)
        v = render_values(cfg)
        single = v["jupyterhub"]["singleuser"]
        assert single["serviceAccountName"] == "pangeo-user"
        assert single["extraEnv"]["SCRATCH_BUCKET"] == url + "/{username}"  # KubeSpawner expands it per user
        backend = v["dask-gateway"]["gateway"]["backend"]
        assert backend["worker"]["extraPodConfig"]["serviceAccountName"] == "pangeo-user"
        assert backend["scheduler"]["extraPodConfig"]["serviceAccountName"] == "pangeo-user"
    gcp = render_values(_scratch("gcp.happy.yaml"))
    assert gcp["jupyterhub"]["singleuser"]["cloudMetadata"] == {"blockWithIptables": False}
    assert gcp["networkPolicy"] == {"workloadIdentityMetadata": True}
    assert "networkPolicy" not in render_values(_scratch("aws.happy.yaml"))  # IRSA needs no metadata service: still blocked
    az = render_values(_scratch("azure.happy.yaml"))
    assert az["jupyterhub"]["singleuser"]["extraLabels"] == {"azure.workload.identity/use": "true"}
    account = _scratch("azure.happy.yaml").scratch_bucket
    # adlfs reads the account (and, before 2026.4.0, whether to sign in) from the environment: users' and Dask pods'
    assert az["jupyterhub"]["singleuser"]["extraEnv"]["AZURE_STORAGE_ACCOUNT_NAME"] == account
    assert az["jupyterhub"]["singleuser"]["extraEnv"]["AZURE_STORAGE_ANON"] == "false"
    backend = az["dask-gateway"]["gateway"]["backend"]
    for pod in ("scheduler", "worker"):
        assert {"name": "AZURE_STORAGE_ACCOUNT_NAME", "value": account} in backend[pod]["extraContainerConfig"]["env"]
    assert '"pod_labels": {"azure.workload.identity/use": "true"}' in az["dask-gateway"]["gateway"]["extraConfig"]["pangeoctl"].replace('\\"', '"')


def test_scratch_names_that_cannot_work_are_refused():
    aws = C.load("x", text=(CONFIGS / "aws.happy.yaml").read_text().replace(' account: "012345678901",', ""))
    aws = aws.model_copy(
        update={"hub": aws.hub.model_copy(update={"user_identity": aws.hub.user_identity.model_copy(update={"scratch_bucket": True})})}
    )
    from pangeoctl.config.checks import _scratch_problems

    (p,) = _scratch_problems(aws)
    assert "set `aws.account`" in p.message
    (p,) = _scratch_problems(_scratch("azure.happy.yaml", bucket="eo-lab-scratch"))
    assert "3–24 lowercase letters and digits" in p.message
    assert _scratch_problems(_scratch("azure.happy.yaml")) == []  # the derived name fits


def test_down_verify_lists_a_scratch_bucket_left_behind():
    from pangeoctl.clouds.base import find_leftovers

    gcp = C.load(CONFIGS / "gcp.happy.yaml")
    r = RecordingRunner(outputs={("storage", "buckets", "list"): "geo-lab-123-geo-lab-scratch\tUS-CENTRAL1\n"})
    assert [x.line() for x in find_leftovers(clouds.get("gcp"), gcp, r)] == [
        "bucket geo-lab-123-geo-lab-scratch (us-central1), users' scratch bucket: billed per GB stored until its objects expire or it is deleted"
    ]
    aws = C.load(CONFIGS / "aws.happy.yaml")
    r = RecordingRunner(outputs={("resourcegroupstaggingapi",): "arn:aws:s3:::ocean-lab-scratch-012345678901\n"})
    assert [x.line() for x in find_leftovers(clouds.get("aws"), aws, r)] == [
        "bucket ocean-lab-scratch-012345678901 (us-west-2), users' scratch bucket: billed per GB stored until its objects expire or it is deleted"
    ]
    az = C.load(CONFIGS / "azure.happy.yaml")
    r = RecordingRunner(outputs={("resource", "list"): "eolab1a2b3c4d\tMicrosoft.Storage/storageAccounts\teo-lab-rg\n"})
    assert [x.line() for x in find_leftovers(clouds.get("azure"), az, r)][0].startswith("storage account eolab1a2b3c4d (eo-lab-rg), users' scratch")


@pytest.mark.parametrize(
    ("name", "probes", "deletes"),
    [
        (
            "gcp.happy.yaml",
            [("buckets", "list", "name=geo-lab-123-geo-lab-scratch"), ("service-accounts", "list")],
            [
                "gcloud storage rm --recursive gs://geo-lab-123-geo-lab-scratch --project geo-lab-123",
                "gcloud iam service-accounts delete geo-lab-users@geo-lab-123.iam.gserviceaccount.com --project geo-lab-123 --quiet",
            ],
        ),
        (
            "aws.happy.yaml",
            [("s3api", "list-buckets"), ("iam", "list-roles", "Roles[?RoleName=='ocean-lab-scratch-us-west-2'].RoleName")],
            [
                "aws s3 rb s3://ocean-lab-scratch-012345678901 --force --region us-west-2",
                "eksctl delete iamserviceaccount --cluster ocean-lab --region us-west-2 --namespace ocean-lab --name pangeo-user --wait",
            ],
        ),
        (
            "azure.happy.yaml",
            [("storage", "account", "list"), ("identity", "list", "[?name=='eo-lab-users'].name")],
            [
                "az storage account delete --name {account} --subscription 00000000-0000-0000-0000-000000000000 --resource-group eo-lab-rg --yes",
                "az identity delete --name eo-lab-users --subscription 00000000-0000-0000-0000-000000000000 --resource-group eo-lab-rg",
            ],
        ),
    ],
)
def test_down_purge_deletes_the_scratch_bucket_and_its_identity_and_only_purge(name, probes, deletes):
    """Users' scratch files are their data: `down --purge` deletes the bucket (with them) and the identity, after
    the release and before the cluster; a plain `down` keeps both and says so; what is gone already is skipped."""
    cfg = _scratch(name)
    deletes = [d.format(account=cfg.scratch_bucket) for d in deletes]
    r = RecordingRunner(outputs={p: "found\n" for p in probes})
    assert down(cfg, r, delete_cluster=True, purge_data=True) == []
    got = [shlex.join(a) for a in r.argvs]
    assert [g for g in got if g in deletes] == deletes
    assert got.index(deletes[0]) > next(i for i, g in enumerate(got) if g.startswith("helm uninstall"))
    assert got.index(deletes[-1]) < len(got) - 1  # the cluster goes last
    r = RecordingRunner()  # nothing there: the probes print nothing
    down(cfg, r, delete_cluster=False, purge_data=True)
    assert not {shlex.join(a) for a in r.argvs} & set(deletes)
    r = RecordingRunner(outputs={p: "found\n" for p in probes})
    (kept,) = down(cfg, r, delete_cluster=False, purge_data=False)
    assert cfg.scratch_bucket in kept and kept.endswith("which bills per GB stored: `down --purge` deletes it, users' files and its identity")
    assert not any(a[:2] in (["gcloud", "storage"], ["aws", "s3"], ["az", "storage"]) for a in r.argvs)
    # A listing that cannot look (expired login, no permission) stops `down --purge`: it is not "deleted already".
    r = RecordingRunner(fail_on=probes[0][:2], stderr="ERROR: (gcloud) You do not currently have an active account selected.")
    with pytest.raises(RunError):
        down(cfg, r, delete_cluster=True, purge_data=True)
    assert not any(a[:2] in (["gcloud", "container"], ["eksctl", "delete"], ["az", "aks"]) for a in r.argvs)  # the cluster stays

"""AKS through ``az``: resource group, cluster (core pool, Cilium network policy), one pool per role (spot
roles: one per equivalent VM size), a tagged StorageClass, the NVIDIA device plugin, a static IP for HTTPS.

The node resource group is named explicitly (``node_resource_group``) so the budget can cover it: the VMs,
disks and IPs of the cluster live there, not in the cluster's own group — and deleting the cluster deletes
that group with every home directory in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pangeoctl.clouds.base import (
    SCRATCH_LEFT,
    SCRATCH_LIFECYCLE,
    SCRATCH_SA,
    STORAGE_CLASS,
    ClusterHandle,
    Leftover,
    LeftoverQuery,
    ObservedPool,
    Owned,
    OwnKubeconfig,
    PoolChange,
    PoolPlan,
    Scratch,
    address_name,
    diff_pool,
    labels_csv,
    monthly,
    nvidia_device_plugin,
    rows,
    scratch_service_account,
    split_pools,
    storage_class,
    tags,
)
from pangeoctl.config import Config
from pangeoctl.render.placement import PLACEMENT, POOL_LABEL
from pangeoctl.render.placement import pool_taints as _taints
from pangeoctl.runner import Command, Stdin


def _requested_taints(name: str) -> list[str]:
    # Taints we ask for; AKS adds kubernetes.azure.com/scalesetpriority=spot:NoSchedule on spot pools itself.
    return [f"{t.key}={t.value}:{t.effect}" for t in _taints("azure", name, False)]


def node_resource_group(cfg: Config) -> str:
    """The group AKS puts the cluster's VMs, disks, IPs and load balancer in (AKS's own default name, made explicit)."""
    assert cfg.azure is not None
    return f"MC_{cfg.azure.resource_group}_{cfg.name}_{cfg.azure.location}"[:80]


SCRATCH_CONTAINER = "scratch"


class AzureCloud(OwnKubeconfig):
    name: str = "azure"
    tools: tuple[str, ...] = ("az", "kubectl", "helm")
    owns_cluster: bool = True

    @staticmethod
    def _rg(cfg: Config) -> list[str]:
        assert cfg.azure is not None
        return ["--subscription", cfg.azure.subscription, "--resource-group", cfg.azure.resource_group]

    @staticmethod
    def _name(role: str, i: int) -> str:
        return role if i == 0 else f"{role}{i + 1}"  # AKS pool names: lowercase letters and digits only

    def pool_plans(self, cfg: Config) -> list[PoolPlan]:
        return split_pools(cfg, "azure", self._name)

    @staticmethod
    def _bounds(p: PoolPlan) -> list[str]:
        return ["--min-count", str(p.min_nodes), "--max-count", str(p.max_nodes)]

    def _size(self, p: PoolPlan) -> list[str]:
        return ["--node-count", str(p.min_nodes), "--enable-cluster-autoscaler", *self._bounds(p), "--node-osdisk-size", str(p.pool.disk_gb)]

    def spec(self, cfg: Config) -> tuple[str, dict[str, Any]]:
        assert cfg.azure is not None
        profiles = []
        for p in self.pool_plans(cfg):
            profiles.append(
                {
                    "name": p.name,
                    "mode": "System" if p.role == "core" else "User",
                    "vmSize": p.machine_type,
                    "count": p.min_nodes,
                    "minCount": p.min_nodes,
                    "maxCount": p.max_nodes,
                    "enableAutoScaling": True,
                    "osDiskSizeGB": p.pool.disk_gb,
                    "scaleSetPriority": "Spot" if p.pool.spot else "Regular",
                    "nodeLabels": dict(PLACEMENT[p.role].labels),
                    "nodeTaints": [f"{t.key}={t.value}:{t.effect}" for t in _taints("azure", p.role, p.pool.spot)],
                    "tags": tags(cfg),
                }
            )
        return "cluster.yaml", {
            "kind": "AKSManagedCluster",
            "name": cfg.name,
            "subscription": cfg.azure.subscription,
            "resourceGroup": cfg.azure.resource_group,
            "nodeResourceGroup": node_resource_group(cfg),
            "location": cfg.azure.location,
            "kubernetesVersion": cfg.cluster.kubernetes_version,
            "sku": {"tier": "Free"},
            "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "cilium", "networkPolicy": "cilium"},
            "securityProfile": {"workloadIdentity": {"enabled": True}},
            "oidcIssuerProfile": {"enabled": True},
            "tags": tags(cfg),
            "agentPoolProfiles": profiles,
        }

    def versions_probe(self, cfg: Config) -> Command | None:
        assert cfg.azure is not None
        return Command(
            ("az", "aks", "get-versions", "--subscription", cfg.azure.subscription, "--location", cfg.azure.location, "--output", "json"),
            why="Kubernetes versions AKS offers here",
        )

    def _add_pool(self, cfg: Config, p: PoolPlan) -> Command:
        rg = self._rg(cfg)
        argv = [
            "az",
            "aks",
            "nodepool",
            "add",
            *rg,
            "--cluster-name",
            cfg.name,
            "--name",
            p.name,
            "--mode",
            "System" if p.role == "core" else "User",
            "--node-vm-size",
            p.machine_type,
            *self._size(p),
            "--labels",
            *[f"{k}={v}" for k, v in PLACEMENT[p.role].labels.items()],
            "--tags",
            *[f"{k}={v}" for k, v in tags(cfg).items()],
        ]
        taints = _requested_taints(p.role)
        if taints:
            argv += ["--node-taints", ",".join(taints)]
        if p.pool.spot:
            argv += ["--priority", "Spot", "--eviction-policy", "Delete", "--spot-max-price", "-1"]
        return Command(
            tuple(argv),
            why=f"add the {p.name} node pool",
            unless=("az", "aks", "nodepool", "show", *rg, "--cluster-name", cfg.name, "--name", p.name),
        )

    def create(self, cfg: Config, spec_path: Path, handle: ClusterHandle) -> list[Command]:
        assert cfg.azure is not None
        rg = self._rg(cfg)
        plans = self.pool_plans(cfg)
        core = plans[0]
        cmds = [
            Command(
                (
                    "az",
                    "group",
                    "create",
                    "--subscription",
                    cfg.azure.subscription,
                    "--name",
                    cfg.azure.resource_group,
                    "--location",
                    cfg.azure.location,
                    "--tags",
                    *[f"{k}={v}" for k, v in tags(cfg).items()],
                ),
                why="resource group",
                unless=("az", "group", "show", "--subscription", cfg.azure.subscription, "--name", cfg.azure.resource_group),
            ),
            Command(
                (
                    "az",
                    "aks",
                    "create",
                    *rg,
                    "--name",
                    cfg.name,
                    "--location",
                    cfg.azure.location,
                    "--node-resource-group",
                    node_resource_group(cfg),
                    "--kubernetes-version",
                    cfg.cluster.kubernetes_version,
                    "--tier",
                    "free",
                    "--network-plugin",
                    "azure",
                    "--network-plugin-mode",
                    "overlay",
                    "--network-dataplane",
                    "cilium",
                    "--network-policy",
                    "cilium",
                    "--enable-oidc-issuer",
                    "--enable-workload-identity",
                    "--nodepool-name",
                    core.name,
                    "--node-vm-size",
                    core.machine_type,
                    *self._size(core),
                    "--nodepool-labels",
                    *[f"{k}={v}" for k, v in PLACEMENT["core"].labels.items()],
                    # no SSH key read from or written to the user's ~/.ssh (without it az installs ~/.ssh/id_rsa.pub
                    # when present). `--ssh-access disabled` would also turn node SSH off, but only the aks-preview
                    # extension knows it (azure-cli's core `aks create` has no such argument).
                    "--no-ssh-key",
                    # cluster tags are copied to the node resource group's VMs, IPs and load balancer
                    "--tags",
                    *[f"{k}={v}" for k, v in tags(cfg).items()],
                ),
                why="create the AKS cluster with the core pool",
                unless=("az", "aks", "show", *rg, "--name", cfg.name),
            ),
        ]
        cmds += [self._add_pool(cfg, p) for p in plans[1:]]
        return cmds

    def credentials(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        sc = storage_class("disk.csi.azure.com", {"skuName": "Premium_LRS", "tags": labels_csv(tags(cfg))})
        cmds = [
            Command(
                ("az", "aks", "get-credentials", *self._rg(cfg), "--name", cfg.name, "--file", str(handle.kubeconfig), "--overwrite-existing"),
                why="write the kubeconfig",
            ),
            Command(
                ("kubectl", *handle.kubectl(), "apply", "-f", "-"),
                why=f"StorageClass {STORAGE_CLASS}: premium disks tagged for this platform",
                stdin=Stdin(f"StorageClass {STORAGE_CLASS}", lambda: sc),
            ),
        ]
        if "gpu" in cfg.pools():
            cmds.append(nvidia_device_plugin(handle))  # AKS installs the driver, not the device plugin
        return cmds

    # ------------------------------------------------------------ re-runs: changed pools

    def pools_probe(self, cfg: Config) -> Command | None:
        return Command(
            ("az", "aks", "nodepool", "list", *self._rg(cfg), "--cluster-name", cfg.name, "--output", "json"), why="node pools as they run"
        )

    @staticmethod
    def observed(listing: str) -> list[ObservedPool]:
        out = []
        for p in json.loads(listing or "[]"):
            role = (p.get("nodeLabels") or {}).get(POOL_LABEL)
            if not role:
                continue
            out.append(
                ObservedPool(
                    p["name"],
                    role,
                    (p.get("vmSize", ""),),
                    int(p.get("minCount") or 0),
                    int(p.get("maxCount") or 0),
                    p.get("scaleSetPriority") == "Spot",
                    int(p.get("osDiskSizeGb") or 0),
                )
            )
        return out

    def pool_changes(self, cfg: Config, listing: str, *, spec_path: Path | None = None) -> list[PoolChange]:
        rg = self._rg(cfg)
        have = {o.name: o for o in self.observed(listing)}
        plans = self.pool_plans(cfg)
        out = []
        for p in plans:
            o = have.get(p.name)
            if o is None:
                continue
            update, replace = diff_pool(p.pool.model_copy(update={"min_nodes": p.min_nodes, "max_nodes": p.max_nodes}), o, (p.machine_type,))
            if replace and p.role == "core":
                # AKS never deletes its last System pool: the hub moves to a temporary System pool of the new
                # shape while the core pool is recreated, then back (two short moves instead of an outage).
                tmp = PoolPlan("coretmp", p.role, p.machine_type, max(p.min_nodes, 1), p.max_nodes, p.pool)
                delete = ("az", "aks", "nodepool", "delete", *rg, "--cluster-name", cfg.name, "--name")
                out.append(
                    PoolChange(
                        p.name,
                        "replace",
                        tuple(update + replace),
                        (
                            Command(self._add_pool(cfg, tmp).argv, why="a temporary System pool to hold the hub"),
                            Command((*delete, p.name), why=f"drain and delete the {p.name} pool"),
                            Command(self._add_pool(cfg, p).argv, why=f"recreate the {p.name} pool"),
                            Command((*delete, tmp.name), why="drain the temporary pool back and delete it"),
                        ),
                    )
                )
            elif replace:
                out.append(
                    PoolChange(
                        p.name,
                        "replace",
                        tuple(update + replace),
                        (
                            Command(
                                ("az", "aks", "nodepool", "delete", *rg, "--cluster-name", cfg.name, "--name", p.name),
                                why=f"drain and delete the {p.name} pool",
                            ),
                            Command(self._add_pool(cfg, p).argv, why=f"recreate the {p.name} pool"),
                        ),
                    )
                )
            elif update:
                out.append(
                    PoolChange(
                        p.name,
                        "update",
                        tuple(update),
                        (
                            Command(
                                (
                                    "az",
                                    "aks",
                                    "nodepool",
                                    "update",
                                    *rg,
                                    "--cluster-name",
                                    cfg.name,
                                    "--name",
                                    p.name,
                                    "--update-cluster-autoscaler",
                                    *self._bounds(p),
                                ),
                                why=f"new autoscaling bounds for {p.name}",
                            ),
                        ),
                    )
                )
        wanted = {p.name for p in plans}
        for o in have.values():
            # another System pool (a `coretmp` left by a failed replacement) goes only while `core` is there
            if o.name not in wanted and (o.role != "core" or plans[0].name in have):
                out.append(
                    PoolChange(
                        o.name,
                        "delete",
                        ("no longer in pangeo.yaml",),
                        (
                            Command(
                                ("az", "aks", "nodepool", "delete", *rg, "--cluster-name", cfg.name, "--name", o.name),
                                why=f"remove the {o.name} pool",
                            ),
                        ),
                    )
                )
        return out

    # ------------------------------------------------------------ HTTPS: a static IP

    def _ip(self, cfg: Config) -> list[str]:
        assert cfg.azure is not None
        return ["--subscription", cfg.azure.subscription, "--resource-group", node_resource_group(cfg), "--name", address_name(cfg)]

    def reserve_address(self, cfg: Config) -> list[Command]:
        assert cfg.azure is not None
        if not cfg.hub.domain:
            return []
        # In the node resource group, where the cluster may use it without extra rights; it goes with the cluster.
        return [
            Command(
                (
                    "az",
                    "network",
                    "public-ip",
                    "create",
                    *self._ip(cfg),
                    "--location",
                    cfg.azure.location,
                    "--sku",
                    "Standard",
                    "--allocation-method",
                    "Static",
                    "--tags",
                    *[f"{k}={v}" for k, v in tags(cfg).items()],
                ),
                why=f"reserve the hub's IP address (the DNS record for {cfg.hub.domain} points at it; a reinstall keeps it)",
                unless=("az", "network", "public-ip", "show", *self._ip(cfg)),
            )
        ]

    def address_probe(self, cfg: Config, handle: ClusterHandle) -> Command | None:
        if not cfg.hub.domain:
            return None
        return Command(
            ("az", "network", "public-ip", "show", *self._ip(cfg), "--query", "ipAddress", "--output", "tsv"), why="the hub's reserved IP address"
        )

    # ------------------------------------------------------------ users' scratch bucket

    def scratch(self, cfg: Config) -> Scratch | None:
        if not cfg.scratch_bucket:
            return None
        # adlfs reads the account from the environment; the workload identity webhook acts on labelled pods.
        return Scratch(
            f"az://{SCRATCH_CONTAINER}",
            # adlfs before 2026.4.0 reads anonymously unless told otherwise (fsspec/adlfs#540)
            env={"AZURE_STORAGE_ACCOUNT_NAME": cfg.scratch_bucket, "AZURE_STORAGE_ANON": "false"},
            pod_labels={"azure.workload.identity/use": "true"},
        )

    @staticmethod
    def lifecycle(days: int) -> dict[str, Any]:
        delete = {"delete": {"daysAfterModificationGreaterThan": days}}
        rule = {
            "enabled": True,
            "name": "expire-scratch",
            "type": "Lifecycle",
            "definition": {"actions": {"baseBlob": delete}, "filters": {"blobTypes": ["blockBlob"]}},
        }
        return {"rules": [rule]}

    def scratch_owned(self, cfg: Config) -> list[Owned]:
        account, rg = cfg.scratch_bucket, self._rg(cfg)
        if not account:
            return []
        ident = self._scratch_identity(cfg)
        return [
            Owned(f"users' scratch storage account {account}", ("az", "storage", "account", "list", *rg, "--query", f"[?name=='{account}'].name", "--output", "tsv"),
                  ("az", "storage", "account", "delete", "--name", account, *rg, "--yes"), data=True),
            # its federated credential goes with it
            Owned(f"the managed identity {ident} users acted as", ("az", "identity", "list", *rg, "--query", f"[?name=='{ident}'].name", "--output", "tsv"),
                  ("az", "identity", "delete", "--name", ident, *rg)),
        ]  # fmt: skip

    @staticmethod
    def _scratch_identity(cfg: Config) -> str:
        return f"{cfg.name}-users"

    def scratch_steps(self, cfg: Config, handle: ClusterHandle, where: Path) -> list[Any]:
        from pangeoctl.targets.base import Read, unreadable

        assert cfg.azure is not None
        account = cfg.scratch_bucket
        if not account:
            return []
        rg, loc, ident = self._rg(cfg), ("--location", cfg.azure.location), self._scratch_identity(cfg)
        tag = ("--tags", *(f"{k}={v}" for k, v in tags(cfg).items()))

        def missing(what: str, probe: Command, expect: int = 1) -> Callable[[str], str | None]:
            """A read whose answer the identity wiring needs: without it `up` stops here, saying why."""

            def tell(out: str) -> str | None:
                if len(out.split()) == expect:
                    return None
                return unreadable(what, probe, out, "without it pods get no identity for the scratch bucket")

            return tell

        def federate(issuer: str) -> list[Command]:
            subject = f"system:serviceaccount:{cfg.name}:{SCRATCH_SA}"
            return [
                Command(
                    ("az", "identity", "federated-credential", "create", "--name", SCRATCH_SA, "--identity-name", ident, *rg,
                     "--issuer", issuer.strip(), "--subject", subject, "--audiences", "api://AzureADTokenExchange"),
                    why=f"pods running as {SCRATCH_SA} act as that identity (workload identity)",
                )
            ]  # fmt: skip

        def assign(client: str, principal: str, account_id: str) -> list[Command]:
            scope = f"{account_id.strip()}/blobServices/default/containers/{SCRATCH_CONTAINER}"
            return [
                Command(
                    ("az", "role", "assignment", "create", "--assignee-object-id", principal, "--assignee-principal-type", "ServicePrincipal",
                     "--role", "Storage Blob Data Contributor", "--scope", scope),
                    # needs Owner or User Access Administrator on the account (Contributor may not assign roles)
                    why="it may read, write and delete blobs in the scratch container — and nothing else",
                ),
                *scratch_service_account(cfg, handle, {"azure.workload.identity/client-id": client}),
            ]  # fmt: skip

        issuer = Command(
            ("az", "aks", "show", "--name", cfg.name, *rg, "--query", "oidcIssuerProfile.issuerUrl", "--output", "tsv"),
            why="the cluster's OIDC issuer",
            read_only=True,
        )
        ids = Command(
            ("az", "identity", "show", "--name", ident, *rg, "--query", "[clientId, principalId]", "--output", "tsv"),
            why="the identity's ids",
            read_only=True,
        )
        account_id = Command(
            ("az", "storage", "account", "show", "--name", account, *rg, "--query", "id", "--output", "tsv"), why="the account's id", read_only=True
        )

        def grant(ids: str) -> list[Read]:
            """From the identity's client and principal ids: its role on the container (the scope is the
            account's resource id, read next) and the ServiceAccount's annotation."""
            client, principal = ids.split()
            return [
                Read(
                    account_id,
                    tell=missing("the scratch storage account", account_id),
                    follow=lambda out: assign(client, principal, out),
                    fatal=True,
                    code=1,
                )
            ]

        return [
            Command(
                ("az", "storage", "account", "create", "--name", account, *rg, *loc, "--sku", "Standard_LRS", "--kind", "StorageV2",
                 "--min-tls-version", "TLS1_2", "--allow-blob-public-access", "false", *tag),
                why=f"users' scratch storage account {account}, beside the cluster",
                unless=("az", "storage", "account", "show", "--name", account, *rg),
            ),
            Command(
                ("az", "storage", "container-rm", "create", "--storage-account", account, "--name", SCRATCH_CONTAINER, *rg),
                why=f"its container {SCRATCH_CONTAINER}",
            ),
            Command(
                ("az", "storage", "account", "management-policy", "create", "--account-name", account, *rg, "--policy", f"@{where / SCRATCH_LIFECYCLE}"),
                why=f"delete what is older than {cfg.hub.user_identity.expire_days} days",
            ),
            Command(("az", "identity", "create", "--name", ident, *rg, *loc, *tag), why="the identity users and their Dask workers act as"),
            Read(issuer, tell=missing("the cluster's OIDC issuer", issuer), follow=federate, shown=tuple(federate("ISSUER_URL")), fatal=True, code=1),
            Read(ids, tell=missing("the identity's ids", ids, 2), follow=grant, shown=(account_id, *assign("CLIENT_ID", "PRINCIPAL_ID", "ACCOUNT_ID")), fatal=True, code=1),
        ]  # fmt: skip

    def delete(self, cfg: Config, handle: ClusterHandle) -> list[Command]:
        return [Command(("az", "aks", "delete", *self._rg(cfg), "--name", cfg.name, "--yes"), why="delete the AKS cluster")]

    def destroys_data(self, cfg: Config) -> str | None:
        return (
            f"deleting the AKS cluster deletes its node resource group {node_resource_group(cfg)} and every disk in it: "
            "all home directories and the hub database are destroyed for good"
        )

    # ------------------------------------------------------------ teardown: what is left, priced

    def leftover_queries(self, cfg: Config) -> list[LeftoverQuery]:
        assert cfg.azure is not None
        sub = ("--subscription", cfg.azure.subscription)
        kinds = {
            "Microsoft.Network/publicIPAddresses": ("ip", "ip"),
            "Microsoft.Network/loadBalancers": ("load balancer", "load_balancer"),
            "Microsoft.Network/natGateways": ("nat gateway", "nat_gateway"),
        }

        def disks(out: str) -> list[Leftover]:
            return [Leftover("disk", r[0], r[1], monthly("azure", "disk_gb_month", float(r[2])), f"{r[2]} GB") for r in rows(out) if len(r) >= 3]

        def resources(out: str) -> list[Leftover]:
            found = []
            for r in rows(out):
                if len(r) < 3 or r[1] == "Microsoft.Compute/disks":
                    continue  # disks come with their sizes from the other listing
                if r[1] == "Microsoft.Storage/storageAccounts":
                    found.append(Leftover("storage account", r[0], r[2], detail=SCRATCH_LEFT))
                    continue
                kind, price = kinds.get(r[1], (r[1].rsplit("/", 1)[-1], ""))
                found.append(Leftover(kind, r[0], r[2], monthly("azure", price) if price else None))
            return found

        return [
            LeftoverQuery(
                Command(
                    ("az", "disk", "list", *sub, "--query", f"[?tags.pangeoctl=='{cfg.name}'].[name,resourceGroup,diskSizeGB]", "--output", "tsv"),
                    why="managed disks",
                ),
                disks,
            ),
            LeftoverQuery(
                Command(
                    ("az", "resource", "list", *sub, "--tag", f"pangeoctl={cfg.name}", "--query", "[].[name,type,resourceGroup]", "--output", "tsv"),
                    why="resources tagged for this platform",
                ),
                resources,
            ),
        ]

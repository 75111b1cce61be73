#!/usr/bin/env bash
# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.
set -euo pipefail

# Kubernetes versions AKS offers here
az aks get-versions --subscription 00000000-0000-0000-0000-000000000000 --location westeurope --output json
# node pools as they run
az aks nodepool list --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --output json
# resource group
az group show --subscription 00000000-0000-0000-0000-000000000000 --name geo-lab >/dev/null 2>&1 || az group create --subscription 00000000-0000-0000-0000-000000000000 --name geo-lab --location westeurope --tags pangeoctl=geo-lab
# create the AKS cluster with the core pool
az aks show --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --name geo-lab >/dev/null 2>&1 || az aks create --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --name geo-lab --location westeurope --node-resource-group MC_geo-lab_geo-lab_westeurope --kubernetes-version 1.35 --tier free --network-plugin azure --network-plugin-mode overlay --network-dataplane cilium --network-policy cilium --enable-oidc-issuer --enable-workload-identity --nodepool-name core --node-vm-size Standard_D2s_v5 --node-count 1 --enable-cluster-autoscaler --min-count 1 --max-count 2 --node-osdisk-size 100 --nodepool-labels pangeoctl.io/pool=core hub.jupyter.org/node-purpose=core --no-ssh-key --tags pangeoctl=geo-lab
# add the user node pool
az aks nodepool show --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name user >/dev/null 2>&1 || az aks nodepool add --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name user --mode User --node-vm-size Standard_E4s_v5 --node-count 0 --enable-cluster-autoscaler --min-count 0 --max-count 10 --node-osdisk-size 100 --labels pangeoctl.io/pool=user hub.jupyter.org/node-purpose=user --tags pangeoctl=geo-lab --node-taints hub.jupyter.org/dedicated=user:NoSchedule
# add the worker node pool
az aks nodepool show --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker >/dev/null 2>&1 || az aks nodepool add --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker --mode User --node-vm-size Standard_D8s_v5 --node-count 0 --enable-cluster-autoscaler --min-count 0 --max-count 7 --node-osdisk-size 100 --labels pangeoctl.io/pool=worker k8s.dask.org/node-purpose=worker --tags pangeoctl=geo-lab --node-taints k8s.dask.org/dedicated=worker:NoSchedule --priority Spot --eviction-policy Delete --spot-max-price -1
# add the worker2 node pool
az aks nodepool show --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker2 >/dev/null 2>&1 || az aks nodepool add --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker2 --mode User --node-vm-size Standard_D8as_v5 --node-count 0 --enable-cluster-autoscaler --min-count 0 --max-count 7 --node-osdisk-size 100 --labels pangeoctl.io/pool=worker k8s.dask.org/node-purpose=worker --tags pangeoctl=geo-lab --node-taints k8s.dask.org/dedicated=worker:NoSchedule --priority Spot --eviction-policy Delete --spot-max-price -1
# add the worker3 node pool
az aks nodepool show --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker3 >/dev/null 2>&1 || az aks nodepool add --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --cluster-name geo-lab --name worker3 --mode User --node-vm-size Standard_D8ds_v5 --node-count 0 --enable-cluster-autoscaler --min-count 0 --max-count 6 --node-osdisk-size 100 --labels pangeoctl.io/pool=worker k8s.dask.org/node-purpose=worker --tags pangeoctl=geo-lab --node-taints k8s.dask.org/dedicated=worker:NoSchedule --priority Spot --eviction-policy Delete --spot-max-price -1
# reserve the hub's IP address (the DNS record for hub.geo-lab.org points at it; a reinstall keeps it)
az network public-ip show --subscription 00000000-0000-0000-0000-000000000000 --resource-group MC_geo-lab_geo-lab_westeurope --name geo-lab-hub >/dev/null 2>&1 || az network public-ip create --subscription 00000000-0000-0000-0000-000000000000 --resource-group MC_geo-lab_geo-lab_westeurope --name geo-lab-hub --location westeurope --sku Standard --allocation-method Static --tags pangeoctl=geo-lab
# write the kubeconfig
az aks get-credentials --subscription 00000000-0000-0000-0000-000000000000 --resource-group geo-lab --name geo-lab --file /data/pangeoctl/geo-lab/azure/kubeconfig --overwrite-existing
# StorageClass pangeoctl: premium disks tagged for this platform
kubectl --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig apply -f -  # stdin: StorageClass pangeoctl
# chart repository jupyterhub
helm repo add jupyterhub https://hub.jupyter.org/helm-chart/ --force-update
# chart repository dask
helm repo add dask https://helm.dask.org/ --force-update
# fetch jupyterhub 4.4.0 and dask-gateway 2026.3.0
helm dependency build <chart>
# namespace
kubectl --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig get namespace geo-lab >/dev/null 2>&1 || kubectl --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig create namespace geo-lab
# the hub's login secrets
kubectl --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig apply --namespace geo-lab -f -  # stdin: Secret pangeo-hub-auth (github-client-secret from $GITHUB_CLIENT_SECRET)
# current release values
helm get values geo-lab --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig --output json
# the hub's reserved IP address
az network public-ip show --subscription 00000000-0000-0000-0000-000000000000 --resource-group MC_geo-lab_geo-lab_westeurope --name geo-lab-hub --query ipAddress --output tsv
# while hub.geo-lab.org does not resolve to RESERVED_IP yet (skipped once it does): install with HTTPS off
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig --values <out>/out/values-http.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP --atomic --wait --timeout 20m
# once it resolves (`up` waits for it): install or upgrade JupyterHub + Dask Gateway, HTTPS on
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/azure/kubeconfig --values <out>/out/values.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP --atomic --wait --timeout 20m

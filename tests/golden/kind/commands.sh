#!/usr/bin/env bash
# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.
set -euo pipefail

# create the kind cluster
kind get kubeconfig --name geo-dev >/dev/null 2>&1 || kind create cluster --name geo-dev --config <out>/out/kind.yaml --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig --wait 120s
# write the kubeconfig
kind export kubeconfig --name geo-dev --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig
# chart repository jupyterhub
helm repo add jupyterhub https://hub.jupyter.org/helm-chart/ --force-update
# chart repository dask
helm repo add dask https://helm.dask.org/ --force-update
# fetch jupyterhub 4.4.0 and dask-gateway 2026.3.0
helm dependency build <chart>
# namespace
kubectl --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig get namespace geo-dev >/dev/null 2>&1 || kubectl --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig create namespace geo-dev
# the hub's login secrets
kubectl --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig apply --namespace geo-dev -f -  # stdin: Secret pangeo-hub-auth (shared-password from file /data/pangeoctl/geo-dev/kind/secrets/password, admin-password from file /data/pangeoctl/geo-dev/kind/secrets/admin_password)
# current release values
helm get values geo-dev --namespace geo-dev --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig --output json
# install or upgrade JupyterHub + Dask Gateway
helm upgrade --install geo-dev <chart> --namespace geo-dev --kubeconfig /data/pangeoctl/geo-dev/kind/kubeconfig --values <out>/out/values.yaml --atomic --wait --timeout 20m

#!/usr/bin/env bash
# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.
set -euo pipefail

# enable the Google Cloud APIs the steps use
gcloud services enable container.googleapis.com compute.googleapis.com --project geo-lab-123
# Kubernetes versions GKE offers here
gcloud container get-server-config --project geo-lab-123 --zone us-west1-b --format json
# node pools as they run
gcloud container node-pools list --cluster geo-lab --project geo-lab-123 --zone us-west1-b --format json
# create the GKE cluster with the core pool
gcloud container clusters describe geo-lab --project geo-lab-123 --zone us-west1-b >/dev/null 2>&1 || gcloud container clusters create geo-lab --project geo-lab-123 --zone us-west1-b --release-channel regular --cluster-version 1.35 --enable-ip-alias --enable-dataplane-v2 --workload-pool geo-lab-123.svc.id.goog --labels pangeoctl=geo-lab --machine-type e2-standard-2 --disk-size 100 --enable-autoscaling --num-nodes 1 --min-nodes 1 --max-nodes 2 --node-labels pangeoctl.io/pool=core,hub.jupyter.org/node-purpose=core --workload-metadata GKE_METADATA
# add the user node pool
gcloud container node-pools describe user --cluster geo-lab --project geo-lab-123 --zone us-west1-b >/dev/null 2>&1 || gcloud container node-pools create user --cluster geo-lab --project geo-lab-123 --zone us-west1-b --machine-type n2-highmem-4 --disk-size 100 --enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=user,hub.jupyter.org/node-purpose=user --workload-metadata GKE_METADATA --node-taints hub.jupyter.org/dedicated=user:NoSchedule
# add the worker node pool
gcloud container node-pools describe worker --cluster geo-lab --project geo-lab-123 --zone us-west1-b >/dev/null 2>&1 || gcloud container node-pools create worker --cluster geo-lab --project geo-lab-123 --zone us-west1-b --machine-type n2-standard-8 --disk-size 100 --enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=worker,k8s.dask.org/node-purpose=worker --workload-metadata GKE_METADATA --node-taints k8s.dask.org/dedicated=worker:NoSchedule --spot
# add the worker-2 node pool
gcloud container node-pools describe worker-2 --cluster geo-lab --project geo-lab-123 --zone us-west1-b >/dev/null 2>&1 || gcloud container node-pools create worker-2 --cluster geo-lab --project geo-lab-123 --zone us-west1-b --machine-type n2d-standard-8 --disk-size 100 --enable-autoscaling --num-nodes 0 --min-nodes 0 --max-nodes 10 --node-labels pangeoctl.io/pool=worker,k8s.dask.org/node-purpose=worker --workload-metadata GKE_METADATA --node-taints k8s.dask.org/dedicated=worker:NoSchedule --spot
# reserve the hub's IP address (the DNS record for hub.geo-lab.org points at it; a reinstall keeps it)
gcloud compute addresses describe geo-lab-hub --project geo-lab-123 --region us-west1 >/dev/null 2>&1 || gcloud compute addresses create geo-lab-hub --project geo-lab-123 --region us-west1 --description 'pangeoctl geo-lab hub'
# label the address for `down --verify`
gcloud compute addresses update geo-lab-hub --project geo-lab-123 --region us-west1 --update-labels pangeoctl=geo-lab
# write the kubeconfig
KUBECONFIG=/data/pangeoctl/geo-lab/gcp/kubeconfig gcloud container clusters get-credentials geo-lab --project geo-lab-123 --zone us-west1-b
# StorageClass pangeoctl: balanced disks labelled for this platform
kubectl --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig apply -f -  # stdin: StorageClass pangeoctl
# chart repository jupyterhub
helm repo add jupyterhub https://hub.jupyter.org/helm-chart/ --force-update
# chart repository dask
helm repo add dask https://helm.dask.org/ --force-update
# fetch jupyterhub 4.4.0 and dask-gateway 2026.3.0
helm dependency build <chart>
# namespace
kubectl --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig get namespace geo-lab >/dev/null 2>&1 || kubectl --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig create namespace geo-lab
# the hub's login secrets
kubectl --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig apply --namespace geo-lab -f -  # stdin: Secret pangeo-hub-auth (github-client-secret from $GITHUB_CLIENT_SECRET)
# current release values
helm get values geo-lab --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig --output json
# the hub's reserved IP address
gcloud compute addresses describe geo-lab-hub --project geo-lab-123 --region us-west1 --format 'value(address)'
# while hub.geo-lab.org does not resolve to RESERVED_IP yet (skipped once it does): install with HTTPS off
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig --values <out>/out/values-http.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP --atomic --wait --timeout 20m
# once it resolves (`up` waits for it): install or upgrade JupyterHub + Dask Gateway, HTTPS on
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/gcp/kubeconfig --values <out>/out/values.yaml --set jupyterhub.proxy.service.loadBalancerIP=RESERVED_IP --atomic --wait --timeout 20m

#!/usr/bin/env bash
# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.
set -euo pipefail

# Kubernetes versions EKS offers
aws eks describe-cluster-versions --region us-west-2 --output json
# node groups as they run
eksctl get nodegroup --cluster geo-lab --region us-west-2 --output json
# check these credentials are for account 012345678901
test "$(aws sts get-caller-identity --query Account --output text)" = 012345678901
# create the EKS cluster
eksctl get cluster --name geo-lab --region us-west-2 >/dev/null 2>&1 || eksctl create cluster -f <out>/out/cluster.yaml --without-nodegroup --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig
# add the core node group
eksctl get nodegroup --cluster geo-lab --region us-west-2 --name core >/dev/null 2>&1 || eksctl create nodegroup -f <out>/out/cluster.yaml --include core
# add the user-us-west-2a node group
eksctl get nodegroup --cluster geo-lab --region us-west-2 --name user-us-west-2a >/dev/null 2>&1 || eksctl create nodegroup -f <out>/out/cluster.yaml --include user-us-west-2a
# add the user-us-west-2b node group
eksctl get nodegroup --cluster geo-lab --region us-west-2 --name user-us-west-2b >/dev/null 2>&1 || eksctl create nodegroup -f <out>/out/cluster.yaml --include user-us-west-2b
# add the user-us-west-2c node group
eksctl get nodegroup --cluster geo-lab --region us-west-2 --name user-us-west-2c >/dev/null 2>&1 || eksctl create nodegroup -f <out>/out/cluster.yaml --include user-us-west-2c
# add the worker node group
eksctl get nodegroup --cluster geo-lab --region us-west-2 --name worker >/dev/null 2>&1 || eksctl create nodegroup -f <out>/out/cluster.yaml --include worker
# write the kubeconfig
eksctl utils write-kubeconfig --cluster geo-lab --region us-west-2 --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig
# default gp3 StorageClass pangeoctl for home volumes (tagged for this platform)
kubectl --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig apply -f -  # stdin: StorageClass pangeoctl (default)
# cluster-autoscaler (EKS has none built in), with its own IAM role
helm upgrade --install cluster-autoscaler cluster-autoscaler --repo https://kubernetes.github.io/autoscaler --version 9.50.1 --namespace kube-system --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig --set autoDiscovery.clusterName=geo-lab --set awsRegion=us-west-2 --set rbac.serviceAccount.create=false --set rbac.serviceAccount.name=cluster-autoscaler --set extraArgs.balance-similar-node-groups=true --set extraArgs.skip-nodes-with-local-storage=false --wait
# Calico network policy (the VPC CNI does not enforce the hub's and Dask's NetworkPolicies on user pods)
helm upgrade --install calico tigera-operator --repo https://docs.tigera.io/calico/charts --version v3.31.0 --namespace tigera-operator --create-namespace --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig --set installation.kubernetesProvider=EKS --wait
# chart repository jupyterhub
helm repo add jupyterhub https://hub.jupyter.org/helm-chart/ --force-update
# chart repository dask
helm repo add dask https://helm.dask.org/ --force-update
# fetch jupyterhub 4.4.0 and dask-gateway 2026.3.0
helm dependency build <chart>
# namespace
kubectl --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig get namespace geo-lab >/dev/null 2>&1 || kubectl --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig create namespace geo-lab
# the hub's login secrets
kubectl --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig apply --namespace geo-lab -f -  # stdin: Secret pangeo-hub-auth (github-client-secret from $GITHUB_CLIENT_SECRET)
# current release values
helm get values geo-lab --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig --output json
# the hub's load balancer address
kubectl --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig get service proxy-public --namespace geo-lab --ignore-not-found --output 'jsonpath={.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}'
# while hub.geo-lab.org does not resolve to the load balancer yet (skipped once it does): install with HTTPS off
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig --values <out>/out/values-http.yaml --atomic --wait --timeout 20m
# once it resolves (`up` waits for it): install or upgrade JupyterHub + Dask Gateway, HTTPS on
helm upgrade --install geo-lab <chart> --namespace geo-lab --kubeconfig /data/pangeoctl/geo-lab/aws/kubeconfig --values <out>/out/values.yaml --atomic --wait --timeout 20m

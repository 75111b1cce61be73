"""The embedded platform: a real JupyterHub + Dask Gateway on this machine, no Kubernetes.

``layout`` decides where things live (state dir, ports); ``platform`` starts, checks and stops the
processes. The config files themselves come from the pure renderer in :mod:`pangeoctl.render.local`.
"""

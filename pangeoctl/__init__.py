"""pangeoctl — a research group's Pangeo platform (JupyterHub + Dask Gateway) from one pangeo.yaml."""

__version__ = "0.1.0"

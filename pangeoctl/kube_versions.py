"""Kubernetes versions: the one place the default version and what each cloud offers are written.

Pure data (no pangeoctl imports), so the config model can take its default from here.
"""

from __future__ import annotations

DEFAULT = "1.33"  # the version a new cluster gets when pangeo.yaml names none

"""Checks on remote files before a lazy plan is built on them: present, reachable, and Range-capable.

Without them, a 404 or a server that ignores ``Range`` surfaces later as a GDAL error deep inside a
worker (or, worse, as whole files downloaded for every tile).
"""

from __future__ import annotations


class AssetError(RuntimeError):
    """A data file is missing, unreachable or cannot be read in ranges; the message says what to do."""


def check_range(href: str, forbidden_hint: str, missing_hint: str = "the file is not there") -> None:
    """Ask ``href`` for 16 bytes; an ``AssetError`` unless it answers 206. Local paths and s3:// pass (GDAL reads them)."""
    import urllib.error
    import urllib.request

    if not href.startswith(("http://", "https://")):
        return
    req = urllib.request.Request(href, headers={"Range": "bytes=0-15"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            if r.status != 206:
                raise AssetError(
                    f"{href} ignores HTTP Range requests (answered {r.status}): every read would fetch the whole file — "
                    "serve the files from object storage or a Range-capable server"
                )
    except urllib.error.HTTPError as e:
        raise AssetError(f"{href} answered {e.code} — {forbidden_hint if e.code in (401, 403) else missing_hint}") from None
    except urllib.error.URLError as e:
        raise AssetError(f"cannot reach {href}: {e.reason}") from None

"""Checks on remote files before a lazy plan is built on them: present, reachable, and Range-capable.

Without them, a 404 or a server that ignores ``Range`` surfaces later as a GDAL error deep inside a
worker (or, worse, as whole files downloaded for every tile).
"""

from __future__ import annotations

import io
from typing import Any


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


class RangeFile(io.RawIOBase):
    """A read-only, seekable file over HTTP Range requests — enough for ``zipfile`` to read one member of a
    remote zip (its central directory at the end, then the member) without downloading the archive."""

    def __init__(self, url: str, timeout: float = 30):
        import urllib.request

        super().__init__()
        self.url, self.timeout, self.pos = url, timeout, 0
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=0-0"}), timeout=timeout) as r:
            self.size = int(r.headers["Content-Range"].rsplit("/", 1)[1]) if r.status == 206 else int(r.headers["Content-Length"])

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence] + offset
        return self.pos

    def readinto(self, b: Any) -> int:
        import urllib.request

        n = min(len(b), self.size - self.pos)
        if n <= 0:
            return 0
        req = urllib.request.Request(self.url, headers={"Range": f"bytes={self.pos}-{self.pos + n - 1}"})
        with urllib.request.urlopen(req, timeout=self.timeout) as r:
            data = r.read()
        b[: len(data)] = data
        self.pos += len(data)
        return len(data)

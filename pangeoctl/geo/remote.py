"""Checks on remote files before a lazy plan is built on them: present, reachable, and Range-capable.

Without them, a 404 or a server that ignores ``Range`` surfaces later as a GDAL error deep inside a
worker (or, worse, as whole files downloaded for every tile).
"""

from __future__ import annotations

import io
import threading
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


# ------------------------------------------------------------------ Planetary Computer SAS signing

PC_TOKEN_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token"
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}  # (token_url, account, container) → (token, expiry)
_TOKEN_LOCK = threading.Lock()


def sas_sign(href: str, token_url: str = PC_TOKEN_URL, margin_s: float = 300) -> str:
    """``href`` with a Planetary Computer SAS token for its storage account and container
    (``https://<account>.blob.core.windows.net/<container>/…``), as ``planetary_computer.sign`` does.

    Tokens are cached per process and fetched again when less than ``margin_s`` of their life is left
    (they last about 45 minutes), so a reader that signs just before opening never uses a stale one.
    """
    import json
    import time
    import urllib.parse
    import urllib.request
    from datetime import datetime

    url = urllib.parse.urlsplit(href)
    account, container = url.netloc.split(".")[0].split(":")[0], url.path.lstrip("/").split("/")[0]
    key = (token_url, account, container)
    with _TOKEN_LOCK:
        token, expiry = _TOKENS.get(key, ("", 0.0))
        if expiry - time.time() < margin_s:
            try:
                with urllib.request.urlopen(f"{token_url.rstrip('/')}/{account}/{container}", timeout=30) as r:
                    body = json.load(r)
            except (OSError, ValueError) as e:
                raise AssetError(f"cannot get a Planetary Computer token for {account}/{container} from {token_url}: {e}") from None
            token = body["token"]
            expiry = datetime.fromisoformat(body["msft:expiry"].replace("Z", "+00:00")).timestamp()
            _TOKENS[key] = (token, expiry)
    return urllib.parse.urlunsplit(url._replace(query=f"{url.query}&{token}" if url.query else token))

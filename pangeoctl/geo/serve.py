"""The sample catalog as real services on loopback: a STAC API (item search) and a Range-capable file server.

So offline notebooks and tests take the cloud's code path: pystac-client searches an API, GDAL reads
COGs with HTTP range requests. Two cloud behaviours are imitated for the same files: under ``/usgs-landsat/``
a requester-pays S3 bucket (403 unless the request carries ``x-amz-request-payer: requester``; point GDAL's
``AWS_S3_ENDPOINT`` here), and under ``/landsat-c2/`` Planetary Computer blobs that need a SAS token from
``/api/sas/v1/token/<account>/<container>`` (403 without one, or once it has expired). The server counts the bytes it sends, to show how little a small area
costs. ``python -m pangeoctl.geo.serve DIR [--port N]`` generates the scenes into DIR and serves them;
``--files-only`` serves DIR as it is.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from RangeHTTPServer import RangeRequestHandler

CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
]


def _match(
    item: dict[str, Any], collections: list[str] | None, bbox: list[float] | None, interval: tuple[str, str] | None, query: dict | None
) -> bool:
    if collections and item.get("collection") not in collections:
        return False
    if bbox:
        w, s, e, n = item["bbox"]
        if w > bbox[2] or e < bbox[0] or s > bbox[3] or n < bbox[1]:
            return False
    if interval:
        t = datetime.fromisoformat(item["properties"]["datetime"].replace("Z", "+00:00"))
        lo, hi = (datetime.fromisoformat(x.replace("Z", "+00:00")) if x not in ("", "..") else None for x in interval)
        if (lo and t < (lo if lo.tzinfo else lo.replace(tzinfo=t.tzinfo))) or (hi and t > (hi if hi.tzinfo else hi.replace(tzinfo=t.tzinfo))):
            return False
    for prop, ops in (query or {}).items():
        v = item["properties"].get(prop)
        for op, ref in ops.items():
            if v is None or not {"lt": v < ref, "lte": v <= ref, "gt": v > ref, "gte": v >= ref, "eq": v == ref}[op]:
                return False
    return True


class SampleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory: Path, items: list[dict[str, Any]], host: str = "127.0.0.1", port: int = 0):
        self.directory, self.items = Path(directory), items
        self.bytes_sent = 0
        self.token_lifetime_s = 2700.0  # Planetary Computer's tokens last ~45 minutes
        self.tokens: dict[str, float] = {}  # token → expiry (epoch seconds)
        self.tokens_issued = 0
        self.lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A reader that hangs up mid-answer (GDAL stops a read once it has its bytes) is not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, n: int) -> None:
        with self.lock:
            self.bytes_sent += n


class _Handler(RangeRequestHandler):
    server: SampleServer

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, directory=str(args[2].directory), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def copyfile(self, source: Any, outputfile: Any) -> None:
        server = self.server

        class Counting:
            def write(self, b: bytes) -> int:
                server.count(len(b))
                return outputfile.write(b)

        super().copyfile(source, Counting())

    def _json(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _search(self, params: dict[str, Any]) -> None:
        bbox = params.get("bbox")
        if isinstance(bbox, str):
            bbox = [float(x) for x in bbox.split(",")]
        dt = params.get("datetime")
        interval = tuple(dt.split("/")) if dt and "/" in dt else (dt, dt) if dt else None
        colls = params.get("collections")
        if isinstance(colls, str):
            colls = colls.split(",")
        query = params.get("query")
        if isinstance(query, str):
            query = json.loads(query)
        limit = int(params.get("limit") or 1000)
        found = [it for it in self.server.items if _match(it, colls, bbox, interval, query)][:limit]  # type: ignore[arg-type]
        self._json({"type": "FeatureCollection", "features": found, "links": []})

    def _cloud_gate(self) -> bool:
        """Imitate requester pays and SAS tokens for the paths that ask for it; False when refused (403 sent)."""
        import time

        url = urlparse(str(self.path))  # type: ignore[has-type]
        if url.path.startswith("/usgs-landsat/"):
            if self.headers.get("x-amz-request-payer") != "requester":
                self.send_error(403, "AccessDenied (requester pays bucket: send x-amz-request-payer)")
                return False
            self.path = url.path.removeprefix("/usgs-landsat")
        elif url.path.startswith("/landsat-c2/"):
            token = "&".join(f"{k}={v[0]}" for k, v in parse_qs(url.query).items() if k in ("se", "sig"))
            if self.server.tokens.get(token, 0) < time.time():
                self.send_error(403, "AuthenticationFailed (no or expired SAS token)")
                return False
            self.path = url.path.removeprefix("/landsat-c2")
        return True

    def do_HEAD(self) -> None:  # noqa: N802
        if self._cloud_gate():
            super().do_HEAD()

    def do_GET(self) -> None:  # noqa: N802
        import secrets
        import time
        from datetime import UTC

        url = urlparse(self.path)
        if url.path.startswith("/api/sas/v1/token/"):
            expiry = time.time() + self.server.token_lifetime_s
            token = f"se={int(expiry)}&sig={secrets.token_hex(8)}"
            self.server.tokens[token] = expiry
            self.server.tokens_issued += 1
            return self._json({"token": token, "msft:expiry": datetime.fromtimestamp(expiry, UTC).isoformat().replace("+00:00", "Z")})
        if not self._cloud_gate():
            return None
        if url.path.rstrip("/") == "/stac":
            base = self.server.url + "/stac"
            return self._json(
                {
                    "type": "Catalog",
                    "id": "pangeoctl-sample",
                    "stac_version": "1.0.0",
                    "description": "synthetic Landsat C2 L2",
                    "conformsTo": CONFORMS,
                    "links": [
                        {"rel": "self", "href": base},
                        {"rel": "root", "href": base},
                        {"rel": "search", "href": base + "/search", "method": "GET", "type": "application/geo+json"},
                        {"rel": "search", "href": base + "/search", "method": "POST", "type": "application/geo+json"},
                    ],
                }
            )
        if url.path == "/stac/search":
            return self._search({k: v[0] for k, v in parse_qs(url.query).items()})
        return super().do_GET()

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path == "/stac/search":
            length = int(self.headers.get("Content-Length") or 0)
            return self._search(json.loads(self.rfile.read(length) or b"{}"))
        self.send_error(404)


def serve_directory(directory: Path, port: int = 0) -> tuple[SampleServer, threading.Thread]:
    """Serve the files in ``directory`` with Range requests, counting bytes; returns the running server."""
    server = SampleServer(directory, [], port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def serve_sample(directory: Path, *, n_scenes: int = 6, size: int = 1024, port: int = 0) -> tuple[SampleServer, threading.Thread]:
    """Generate the scenes into ``directory`` (once) and serve them, with the STAC API at /stac."""
    from pangeoctl.geo import sample_data

    server, thread = serve_directory(directory, port=port)
    server.items = [it.to_dict() for it in sample_data.landsat_scenes(directory, n_scenes=n_scenes, size=size, base_url=server.url)]
    return server, thread


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("directory", type=Path)
    ap.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--files-only", action="store_true", help="serve DIR as it is: no scenes generated, no STAC API")
    a = ap.parse_args()
    srv, th = serve_directory(a.directory, port=a.port) if a.files_only else serve_sample(a.directory, size=a.size, port=a.port)
    print(f"files: {srv.url}/" if a.files_only else f"STAC API: {srv.url}/stac   files: {srv.url}/", "  (Ctrl-C stops)", flush=True)
    try:
        th.join()
    except KeyboardInterrupt:
        srv.shutdown()

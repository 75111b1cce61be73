"""The Range file server the data tests read through: readers that hang up mid-answer are not errors."""

from __future__ import annotations

import socket

import pytest

pytest.importorskip("RangeHTTPServer")

from pangeoctl.geo.serve import serve_directory  # noqa: E402


def test_a_reader_hanging_up_mid_answer_prints_nothing(tmp_path, capfd):
    """GDAL stops reading once it has the bytes it wanted; the server used to print a BrokenPipe traceback for
    each (hundreds in a test run), burying real failures."""
    (tmp_path / "big.bin").write_bytes(b"\0" * (32 << 20))
    server, thread = serve_directory(tmp_path)
    try:
        host, port = server.server_address[:2]
        for _ in range(3):
            with socket.create_connection((host, port)) as s:
                s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
                s.recv(1024)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")  # reset, as an aborted read does
        with socket.create_connection((host, port)) as s:  # still answering
            s.sendall(b"GET /missing HTTP/1.0\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.0 404")
    finally:
        server.shutdown()
        server.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err

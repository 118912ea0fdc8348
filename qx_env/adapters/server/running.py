"""Running the app with uvicorn: in the foreground (``qx serve``) or in a background thread on a
free loopback port (tests, benchmarks, notebooks)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from qx_env.errors import QxError


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (port 0: a free one); a clear error when the address is taken.

    Made with ``IPPROTO_TCP`` so that asyncio sets ``TCP_NODELAY`` on each accepted connection (it checks
    the socket's protocol number, 0 by default): without it a keep-alive client waits about 40 ms per
    answer, Nagle holding the body that follows the headers until the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise QxError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    return sock


def _server(app: FastAPI) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                         timeout_keep_alive=30, backlog=2048))


def serve_forever(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until interrupted."""
    _server(app).run(sockets=[sock])


class ServerThread:
    """``with ServerThread(app) as server: httpx.get(server.url + "/health")`` — uvicorn in a thread."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 120.0) -> None:
        self.app, self.host, self.port, self.startup_timeout = app, host, port, startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> ServerThread:  # noqa: PYI034 - Self needs Python 3.11
        sock = listen(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._server = _server(self.app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="qx-uvicorn")
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise QxError(f"the retrieval server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

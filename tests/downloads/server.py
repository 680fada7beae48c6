"""A small HTTP server on a loopback address for download tests: real sockets, no mocks."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Close the connection without answering (the client sees "Remote end closed").
    hang_up: bool = False
    # Wait this long before answering (for timeouts).
    stall: float = 0.0


@dataclass
class FileServer:
    url: str
    port: int
    routes: dict[str, Route]
    hits: list[str]
    # The Host header of each request.
    hosts: list[str]
    # Every accepted connection, request or not (a TLS hello to this plain server
    # is a connection but no hit).
    connections: list[Any]


@contextmanager
def file_server(
    routes: dict[str, Route], *, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[FileServer]:
    """Serve routes on host:port (port 0: any free one; host may be an IPv6 address),
    over TLS with a server-side `tls` context."""
    hits: list[str] = []
    hosts: list[str] = []
    connections: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            hosts.append(self.headers.get("Host", ""))
            route = routes.get(self.path.split("?")[0])
            if route is None:
                self.send_error(404)
                return
            if route.stall:
                time.sleep(route.stall)
            if route.hang_up:
                self.close_connection = True
                return
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

        def verify_request(self, request: Any, client_address: Any) -> bool:
            connections.append(client_address)
            return True

    server = Server((host, port), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    netloc = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    try:
        yield FileServer(
            f"{scheme}://{netloc}:{server.server_port}", server.server_port, routes, hits, hosts, connections
        )
    finally:
        server.shutdown()
        server.server_close()

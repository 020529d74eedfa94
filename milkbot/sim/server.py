"""A tiny threaded HTTP server with regex routes and switchable faults, shared by both fakes."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    kind: str          # 500 | 500_after_create | 503_grid_expired | 429 | 404 | timeout | drop | malformed | stale | null_temps | accept_then_drop | accept_then_timeout | land_late
    path: str          # regex matched against the request path
    times: int | None  # how many requests it hits (None = until cleared)
    delay: float = 3.0


class Response:
    def __init__(self, status: int = 200, body=None, headers: dict | None = None, content_type="application/json"):
        self.status, self.body, self.headers, self.content_type = status, body, headers or {}, content_type


class FakeServer:
    def __init__(self, name: str):
        self.name = name
        self.routes: list[tuple[str, re.Pattern, callable]] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.answered: list[tuple[str, str, int]] = []   # (method, path, status) of every reply sent
        self.landed_late: list[tuple[str, str]] = []   # requests that took effect after the client gave up
        self.queries: dict[str, dict] = {}      # last query string seen per path
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None
        # random faults for chaos drills: (random.Random, probability, [(path regex, [kinds])], delay)
        self.chaos: tuple | None = None
        # test hooks run just before a request takes effect, as (method, path): the world can move
        # between a client's decision and the exchange's processing of it (a fill racing a decrease)
        self.before: list = []
        self.injected: dict[str, int] = {}      # chaos faults drawn, by kind (a drill reports them)

    # -- faults --------------------------------------------------------------------------------
    def fault(self, kind: str, path: str = ".*", times: int | None = 1, delay: float = 3.0):
        with self.lock:
            self.faults.append(Fault(kind, path, times, delay))

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for f in self.faults:
                if re.search(f.path, path):
                    if f.times is not None:
                        f.times -= 1
                        if f.times <= 0:
                            self.faults.remove(f)
                    return f
            if self.chaos is not None:
                rng, rate, table, delay = self.chaos
                for rx, kinds in table:
                    if re.search(rx, path) and rng.random() < rate:
                        kind = rng.choice(kinds)
                        self.injected[kind] = self.injected.get(kind, 0) + 1
                        return Fault(kind, rx, 1, delay)
        return None

    def active(self, kind: str, path: str) -> bool:
        """Content faults (stale, null_temps) are read by handlers rather than short-circuiting."""
        with self.lock:
            return any(f.kind == kind and re.search(f.path, path) for f in self.faults)

    # -- routing -------------------------------------------------------------------------------
    def route(self, method: str, pattern: str):
        def deco(fn):
            self.routes.append((method, re.compile(f"^{pattern}$"), fn))
            return fn
        return deco

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> Response:
        for m, rx, fn in self.routes:
            match = rx.match(path)
            if m == method and match:
                return fn(match, query, headers, body)
        return Response(404, {"error": {"code": "not_found", "message": f"no route {method} {path}"}})

    # -- serving -------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body go out as separate writes

            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server.lock:
                    server.requests.append((method, parts.path))
                    server.queries[parts.path] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                for hook in list(server.before):
                    hook(method, parts.path)
                fault = server._take_fault(parts.path)
                if fault and fault.kind == "drop":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if fault and fault.kind == "timeout":
                    time.sleep(fault.delay)
                if fault and fault.kind == "land_late":
                    # the request takes effect only after the client has given up waiting: the reply is
                    # lost and, for a while, a listing does not show what it created
                    time.sleep(fault.delay)
                    server.handle(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                  self.headers, body)
                    with server.lock:
                        server.landed_late.append((method, parts.path))
                    self.close_connection = True
                    return
                if fault and fault.kind == "500_after_create":
                    server.handle(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                  self.headers, body)
                    fault = Fault("500", fault.path, 1, 0)
                if fault and fault.kind in ("accept_then_drop", "accept_then_timeout"):
                    server.handle(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                  self.headers, body)   # the request takes effect; the reply is lost
                    if fault.kind == "accept_then_drop":
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    time.sleep(fault.delay)
                    resp = Response(201, {})
                elif fault and fault.kind in ("500", "503_grid_expired", "429", "malformed", "404"):
                    resp = server.fault_response(fault)
                else:
                    try:
                        resp = server.handle(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                             self.headers, body)
                    except Exception as exc:  # a bug in the fake must be visible, not a hang
                        resp = Response(500, {"error": {"code": "fake_bug", "message": repr(exc)}})
                payload = resp.body if isinstance(resp.body, (bytes, str)) else (
                    json.dumps(resp.body).encode() if resp.body is not None else b"")
                if isinstance(payload, str):
                    payload = payload.encode()
                with server.lock:
                    server.answered.append((method, parts.path, resp.status))
                try:
                    self.send_response(resp.status)
                    self.send_header("Content-Type", resp.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in resp.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    if method != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_DELETE(self):
                self._serve("DELETE")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, name=f"fake-{self.name}", daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def fault_response(self, fault: Fault) -> Response:
        if fault.kind == "malformed":
            return Response(200, b'{"truncated": [1, 2', content_type="application/json")
        if fault.kind == "429":
            return Response(429, {"error": "too many requests"})
        return Response(500, {"error": {"code": "internal_server_error", "message": "fake fault"}})

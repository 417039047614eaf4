"""A plain HTTP receiver for the emulators' notifications in tests: records every POST and
answers as told (a status per call, an optional stall), so a test sees what a vendor sent."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict


class Receiver:
    """`statuses`: what to answer, call after call (the last one repeats); `stall`: seconds
    to wait before answering the calls whose index is in `stall_calls` (all when None);
    `gate`: an event every answer waits for."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        *,
        stall: float = 0.0,
        stall_calls: set[int] | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.statuses = list(statuses or [200])
        self.stall = stall
        self.stall_calls = stall_calls
        self.gate = gate  # when given, every answer waits until it is set
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver.lock:
                    index = len(receiver.received)
                    receiver.received.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            json.loads(raw or b"null"),
                        )
                    )
                    status = receiver.statuses[min(index, len(receiver.statuses) - 1)]
                if receiver.stall and (
                    receiver.stall_calls is None or index in receiver.stall_calls
                ):
                    time.sleep(receiver.stall)
                if receiver.gate is not None:
                    receiver.gate.wait(10)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except ConnectionError:
                    pass  # the vendor gave up waiting

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/notifications/t0ken/") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def bodies(self) -> list[dict]:
        with self.lock:
            return [r.body for r in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

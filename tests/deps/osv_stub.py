"""A small OSV-compatible API server for tests (127.0.0.1 only, no network).

Serves POST /v1/querybatch, POST /v1/query and GET /v1/vulns/<id> from in-memory
records. Matching here is deliberately naive (exact entries of ``affected[].versions``)
and independent of the code under test. Counts every request by path.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OsvStub:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        self.fail_status: int | None = None
        self.garbage = False
        self.page_size: int | None = None  # vulns per page before a next_page_token
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> OsvStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(
        self,
        vuln_id: str,
        package: str,
        versions: list[str],
        *,
        fixed: str | None = None,
        aliases: list[str] | None = None,
        severity: str | None = None,
        modified: str = "2024-01-01T00:00:00Z",
        summary: str = "bad thing",
    ) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": vuln_id,
            "modified": modified,
            "summary": summary,
            "aliases": aliases or [],
            "affected": [
                {
                    "package": {"name": package, "ecosystem": "PyPI"},
                    "versions": versions,
                    "ranges": [
                        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, *([{"fixed": fixed}] if fixed else [])]}
                    ],
                }
            ],
        }
        if severity:
            record["database_specific"] = {"severity": severity}
        self.records[vuln_id] = record
        return record

    def _matches(self, name: str, version: str) -> list[dict[str, Any]]:
        found = []
        for record in self.records.values():
            for affected in record["affected"]:
                if affected["package"]["name"].lower().replace("_", "-") == name and version in affected["versions"]:
                    found.append(record)
        return found

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, body: Any) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _fail(self) -> bool:
                if stub.fail_status is not None:
                    self._send(stub.fail_status, {"error": "boom"})
                    return True
                if stub.garbage:
                    self._send(200, b"<html>not json")
                    return True
                return False

            def do_POST(self) -> None:
                stub.requests[self.path] += 1
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if self._fail():
                    return
                if self.path == "/v1/querybatch":
                    stub.batch_sizes.append(len(body["queries"]))
                    results = []
                    for query in body["queries"]:
                        vulns = [
                            {"id": r["id"], "modified": r["modified"]}
                            for r in stub._matches(query["package"]["name"], query["version"])
                        ]
                        start = int(query.get("page_token") or 0)
                        if stub.page_size is not None:
                            page = vulns[start : start + stub.page_size]
                            entry: dict[str, Any] = {"vulns": page} if page else {}
                            if start + stub.page_size < len(vulns):
                                entry["next_page_token"] = str(start + stub.page_size)
                            results.append(entry)
                        else:
                            results.append({"vulns": vulns} if vulns else {})
                    self._send(200, {"results": results})
                elif self.path == "/v1/query":
                    matches = stub._matches(body["package"]["name"], body["version"])
                    self._send(200, {"vulns": matches} if matches else {})
                else:
                    self._send(404, {"error": "not found"})

            def do_GET(self) -> None:
                stub.requests[self.path] += 1
                if self._fail():
                    return
                prefix = "/v1/vulns/"
                if self.path.startswith(prefix) and self.path[len(prefix) :] in stub.records:
                    self._send(200, stub.records[self.path[len(prefix) :]])
                else:
                    self._send(404, {"error": "not found"})

        return Handler

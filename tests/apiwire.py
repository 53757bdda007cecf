"""Raw HTTPS to a Kubernetes API server (the real one or the double): one request's status and
body, or a watch's events, without any client library's retries or decoding in between. The
differential tests send both servers the same bytes through this."""

from __future__ import annotations

import http.client
import json
import ssl
import time
import urllib.parse
from pathlib import Path
from typing import Callable

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")  # kubectl's


class Wire:
    def __init__(self, url: str, token: str, ca_path: Path | str):
        parts = urllib.parse.urlsplit(url)
        self.host, self.port, self.token = parts.hostname, parts.port, token
        self.context = ssl.create_default_context(cafile=str(ca_path))

    def _connection(self, timeout: float) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)

    def _headers(self, accept: str, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token if token is None else token}", "Accept": accept}

    def call(self, method: str, path: str, body: dict | None = None, *, accept: str = "application/json",
             token: str | None = None, content_type: str = "application/json") -> tuple[int, object, str]:
        """(status, decoded JSON body or text, Content-Type)."""
        connection = self._connection(30)
        headers = self._headers(accept, token)
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), content_type
        try:
            connection.request(method, path, data, headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            decoded: object = json.loads(raw)
        except ValueError:
            decoded = raw.decode(errors="replace")
        return response.status, decoded, response.getheader("Content-Type") or ""

    def get(self, path: str, **kwargs) -> dict:
        status, body, _ = self.call("GET", path, **kwargs)
        assert status == 200, (path, status, body)
        return body

    def watch(self, path: str, until: Callable[[list[dict]], bool] = lambda events: False,
              seconds: float = 15, on_open: Callable[[], None] | None = None,
              token: str | None = None) -> tuple[int, object]:
        """(200, events) read until `until(events)`, the server's end of the stream or `seconds`;
        (status, Status body) when the watch is refused."""
        connection = self._connection(seconds)
        deadline = time.monotonic() + seconds
        try:
            connection.request("GET", path, headers=self._headers("application/json", token))
            response = connection.getresponse()
            if response.status != 200:
                return response.status, json.loads(response.read())
            if on_open is not None:
                on_open()
            events: list[dict] = []
            while time.monotonic() < deadline and not until(events):
                try:
                    line = response.readline()
                except TimeoutError:
                    break
                if not line:
                    break
                events.append(json.loads(line))
            return 200, events
        finally:
            connection.close()

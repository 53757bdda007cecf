"""HTTP(S) to the API server over aiohttp, with the TLS material and credentials of the
official client's Configuration, typed errors, and the read-only guard.

The read-only guard lives here and nowhere else: with read_only=True every verb but GET
(list and watch are GETs) raises ReadOnlyViolation before a connection is even opened.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Mapping
from urllib.parse import urlsplit
from urllib.request import proxy_bypass

import aiohttp
from aiohttp.helpers import basicauth_from_netrc, netrc_from_env, proxies_from_env
from kubernetes.client import Configuration

from kataview.model.redaction import register_secret

from .credentials import split_userinfo
from .errors import (ApiError, KubeConfigError, KubeTLSError, KubeUnreachable,
                     ReadOnlyViolation, ServerSilent, Unauthorized, api_error, one_line)

logger = logging.getLogger(__name__)
USER_AGENT = "kataview"
READ_VERBS = frozenset({"GET"})
Query = Mapping[str, str | int] | None


@dataclass(frozen=True, slots=True)
class EnvironmentRoute:
    """What aiohttp's trust_env would find for our one server, looked up once per transport
    (aiohttp looked it up per request, in two threads, and each lookup had to wait for the
    event loop: the next page's request went out only once the current page was decoded)."""

    proxy: str | None = None  # HTTP(S)_PROXY unless NO_PROXY exempts the server
    proxy_headers: Mapping[str, str] | None = None  # Proxy-Authorization from the URL or ~/.netrc
    netrc_login: str | None = None  # a ~/.netrc entry for the server, sent when nothing else is


def environment_route(server: str) -> EnvironmentRoute:
    """Blocking (reads ~/.netrc): aiohttp's own lookups (get_env_proxy_for_url and the
    session's netrc auth), done once."""
    parts = urlsplit(server)
    host = parts.hostname
    proxy, headers, login = None, None, None
    found = proxies_from_env().get(parts.scheme) if host is None or not proxy_bypass(host) else None
    if found is not None:
        proxy = str(found.proxy)
        if found.proxy_auth is not None:
            headers = {"Proxy-Authorization": found.proxy_auth.encode()}
    if host is not None:
        with suppress(LookupError):
            login = basicauth_from_netrc(netrc_from_env(), host).encode()
    return EnvironmentRoute(proxy, headers, login)


class KubeTransport:
    """One aiohttp session to one API server. Create it inside a running event loop's task
    (the session is opened lazily on the first request); close it with `await close()`."""

    def __init__(self, configuration: Configuration, *, connect_timeout: float = 10.0,
                 read_timeout: float = 60.0, read_only: bool = True,
                 credentials: str = "") -> None:
        self.configuration = configuration
        self.credentials = credentials  # 'user "dev" (bearer token)', named in a 401
        # userinfo is taken out of the URL (shown and logged) and sent as Basic auth instead
        self.server, *self._url_credentials = split_userinfo(str(configuration.host).rstrip("/"))
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.read_only = read_only
        self._ssl = _ssl_context(configuration, self.server)
        self._session: aiohttp.ClientSession | None = None
        self._auth_lock = asyncio.Lock()
        self._route: EnvironmentRoute | None = None  # from the environment, on the first request

    # -- public API -------------------------------------------------------------------------

    async def get_json_bytes(self, path: str, query: Query = None) -> bytes:
        """GET path and return the raw JSON body (decoding is the caller's job)."""
        async with self._open("GET", path, query) as response:
            return await response.read()

    async def stream_lines(self, path: str, query: Query = None, *,
                           idle_timeout: float | None = None,
                           on_open: Callable[[], None] | None = None) -> AsyncIterator[bytes]:
        """GET a watch and yield its newline-separated JSON lines as they arrive. The iterator
        ends when the server closes the stream (watch timeout); a broken connection raises
        KubeUnreachable. idle_timeout: seconds without data before the stream counts as dead.
        on_open is called once the server has accepted the watch (HTTP 200).
        Use it with contextlib.aclosing when breaking out early."""
        timeout = self._timeout(idle_timeout)
        async with self._open("GET", path, query, timeout=timeout) as response:
            if on_open is not None:
                on_open()
            buffer = bytearray()
            async for chunk in response.content.iter_any():
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", start)) >= 0:
                    if end > start:
                        yield bytes(buffer[start:end])
                    start = end + 1
                del buffer[:start]
            if buffer.strip():
                yield bytes(buffer)

    async def request(self, method: str, path: str, body: Any = None, *, query: Query = None,
                      content_type: str = "application/json") -> bytes:
        """Any verb, for writer.py only. Refused before sending when read-only."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if data is not None else None
        async with self._open(method, path, query, data=data, headers=headers) as response:
            return await response.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KubeTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- internals --------------------------------------------------------------------------

    def check_verb(self, method: str, path: str) -> None:
        """The read-only guard."""
        if self.read_only and method.upper() not in READ_VERBS:
            raise ReadOnlyViolation(
                f"read-only mode: refused {method.upper()} {path} (nothing was sent)")

    @asynccontextmanager
    async def _open(self, method: str, path: str, query: Query = None, *, data: bytes | None = None,
                    headers: Mapping[str, str] | None = None,
                    timeout: aiohttp.ClientTimeout | None = None,
                    ) -> AsyncIterator[aiohttp.ClientResponse]:
        method = method.upper()
        self.check_verb(method, path)
        session = self._get_session()
        params = {key: str(value) for key, value in (query or {}).items()}
        if self._route is None:
            self._route = await asyncio.to_thread(environment_route, self.server)
        route, proxy, proxy_headers = self._route, self._proxy(), None
        if proxy is None:
            proxy, proxy_headers = route.proxy, route.proxy_headers
        try:
            for attempt in range(2):  # a 401 is retried once if the exec plugin renews the token
                all_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
                all_headers.update(headers or {})
                authorization = await self._authorization()
                if authorization or route.netrc_login:
                    all_headers["Authorization"] = authorization or route.netrc_login
                async with session.request(
                    method, self.server + path, params=params, data=data, headers=all_headers,
                    timeout=timeout or self._timeout(self.read_timeout), proxy=proxy,
                    proxy_headers=proxy_headers,
                    server_hostname=self.configuration.tls_server_name or None,
                ) as response:
                    if (response.status == 401 and attempt == 0
                            and await self._reauthenticate(authorization)):
                        logger.info("401 from %s: the exec credential plugin renewed the "
                                    "token, retrying %s %s", self.server, method, path)
                        continue
                    if response.status >= 400:
                        error = await _error_from(response, method, path)
                        if isinstance(error, Unauthorized):
                            error = self._refused(error)
                        raise error
                    yield response
                    return
        except aiohttp.ClientConnectorCertificateError as exc:
            raise KubeTLSError(f"TLS to {self.server} failed: {exc.certificate_error}",
                               self.server) from None
        except aiohttp.ClientSSLError as exc:
            raise KubeTLSError(f"TLS to {self.server} failed: {exc}", self.server) from None
        except aiohttp.ClientConnectorError as exc:
            raise KubeUnreachable(f"cannot reach {self.server}: {_os_reason(exc.os_error)}",
                                  self.server) from None
        except aiohttp.ConnectionTimeoutError:
            raise KubeUnreachable(f"cannot reach {self.server}: no connection within "
                                  f"{self.connect_timeout:g} s", self.server) from None
        except aiohttp.SocketTimeoutError:
            raise ServerSilent(f"{self.server} stopped answering during {method} {path}",
                               self.server) from None
        except aiohttp.ClientPayloadError:
            raise KubeUnreachable(f"connection to {self.server} broke mid-response "
                                  f"({method} {path})", self.server) from None
        except aiohttp.ClientConnectionError as exc:
            raise KubeUnreachable(f"connection to {self.server} lost ({method} {path}): "
                                  f"{exc or type(exc).__name__}", self.server) from None

    def _refused(self, error: Unauthorized) -> Unauthorized:
        """A 401 names whose credentials were refused, and of which kind."""
        whose = self.credentials or "the credentials in use"
        return Unauthorized(401, f"{self.server} refused the credentials of {whose}: {error} (HTTP 401)",
                            error.path, error.resource)

    def _timeout(self, read: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=None, connect=self.connect_timeout,
                                     sock_connect=self.connect_timeout, sock_read=read)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else True)
            # trust_env's lookups (proxy, ~/.netrc) are done once: EnvironmentRoute
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False,
                                                  auto_decompress=True)
        return self._session

    def _proxy(self) -> str | None:
        # a proxy-url from the kubeconfig; proxies from the environment: EnvironmentRoute
        if getattr(self.configuration, "_proxy_from_env", False):
            return None
        return self.configuration.proxy or None

    async def _reauthenticate(self, sent: str | None) -> bool:
        """After a 401, as client-go does: re-run the exec credential plugin even if its token
        has not reached its expirationTimestamp (it may have been revoked or rotated). True
        when the credentials changed, so the request is worth retrying once."""
        force = getattr(self.configuration.refresh_api_key_hook, "force", None)
        if force is None:
            return False
        async with self._auth_lock:
            if self._header(self.configuration.api_key.get("BearerToken")) != sent:
                return True  # another request renewed them meanwhile
            try:
                await asyncio.to_thread(force, self.configuration)
            except Exception as exc:  # noqa: BLE001 - the 401 is reported instead
                logger.warning("exec credential plugin failed after a 401: %s", one_line(str(exc)))
                return False
            return self._header(self.configuration.api_key.get("BearerToken")) != sent

    def _header(self, token: object) -> str | None:
        if token:
            scheme, _, credentials = str(token).partition(" ")
            if scheme.lower() == "bearer" and credentials:
                return f"Bearer {credentials}"  # the in-cluster loader writes "bearer ..."
            return str(token)
        return None

    async def _authorization(self) -> str | None:
        """The Authorization header. The client's refresh hook (exec plugin expiry, in-cluster
        token file) may run a subprocess: run it in a thread, one at a time."""
        configuration = self.configuration
        hook = configuration.refresh_api_key_hook
        if hook is None:
            token = configuration.api_key.get("BearerToken")
        elif not getattr(hook, "may_block", True):  # nothing to renew: no thread needed
            token = configuration.get_api_key_with_prefix("BearerToken")
        else:
            async with self._auth_lock:
                token = await asyncio.to_thread(configuration.get_api_key_with_prefix,
                                                "BearerToken")
        if token:
            register_secret(token)  # renewed by an exec plugin or a token file: redacted too
            return self._header(token)
        username, password = configuration.username, configuration.password
        if not (username and password):
            username, password = self._url_credentials
        if username and password:
            register_secret(password)
            return aiohttp.BasicAuth(username, password).encode()
        return None


def _os_reason(error: OSError) -> str:
    """"Connection refused" rather than asyncio's "Connect call failed ('127.0.0.1', 6443)"."""
    if not isinstance(error, socket.gaierror) and error.errno and error.errno > 0:
        return os.strerror(error.errno)
    return error.strerror or str(error) or type(error).__name__


def _ssl_context(configuration: Configuration, server: str) -> ssl.SSLContext | None:
    if not server.startswith("https"):
        return None
    try:
        if configuration.verify_ssl:
            context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
            if configuration.ca_cert_data:
                data = configuration.ca_cert_data
                context.load_verify_locations(cadata=data)
            if configuration.assert_hostname is False:
                context.check_hostname = False
        else:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if configuration.cert_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise KubeConfigError(f"TLS settings for {server}: {exc}") from None
    return context


async def _error_from(response: aiohttp.ClientResponse, method: str, path: str) -> ApiError:
    body = await response.read()
    message, kind = "", ""
    try:
        status = json.loads(body)
        if isinstance(status, dict):
            message = str(status.get("message") or "")
            kind = str((status.get("details") or {}).get("kind") or "")
    except ValueError:
        message = body[:200].decode("utf-8", "replace")
    if not message:
        message = f"HTTP {response.status} {response.reason or ''} for {method} {path}"
    resource = kind or resource_of(path)
    retry_after = _retry_after(response.headers.get("Retry-After"))
    return api_error(response.status, one_line(message), path, resource, retry_after)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare from an API server; the caller uses its default


def resource_of(path: str) -> str:
    """The resource plural a path addresses: /api/v1/namespaces/x/pods/y -> "pods"."""
    parts = [part for part in path.split("?", 1)[0].split("/") if part]
    if not parts:
        return ""
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if len(rest) > 2 and rest[0] == "namespaces":
        rest = rest[2:]
    return rest[0] if rest else ""

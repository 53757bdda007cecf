"""The transport's environment lookups (proxy, ~/.netrc) are made once, and a plain-token
request needs no thread: a thread hop per request held the next page's request back until
the event loop was free, i.e. until the current page had been decoded (the list pipeline
became fetch, then decode, page after page)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.transport import EnvironmentRoute, environment_route

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"}}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "NETRC", "HTTP_PROXY", "HTTPS_PROXY",
                 "http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


async def test_requests_with_a_plain_token_do_not_go_through_threads(tmp_path):
    async with ApiServerDouble([NODE]) as api:
        path = api.write_kubeconfig(tmp_path / "kubeconfig")
        connection = await connect(ConnectionSettings(str(path), None))
        executor = CountingExecutor()
        asyncio.get_running_loop().set_default_executor(executor)
        async with connection:
            for _ in range(5):
                await connection.transport.get_json_bytes("/api/v1/nodes")
        # one lookup of the environment for the transport, none per request (was 3 a request:
        # aiohttp's netrc and proxy lookups, and the client's token hook)
        assert executor.submitted == 1


def test_environment_route_finds_the_proxy_and_its_login(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://alice:s3cret@proxy.example:3128")
    route = environment_route("https://10.1.2.3:6443")
    assert route.proxy == "http://proxy.example:3128"
    assert route.proxy_headers == {"Proxy-Authorization": "Basic YWxpY2U6czNjcmV0"}
    assert route.netrc_login is None


def test_no_proxy_exempts_the_server(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "10.1.2.3")
    assert environment_route("https://10.1.2.3:6443") == EnvironmentRoute()


def test_a_netrc_entry_for_the_server_is_its_login(tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.example login bob password pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert environment_route("https://api.example:6443").netrc_login == "Basic Ym9iOnB3"
    assert environment_route("https://other.example:6443").netrc_login is None

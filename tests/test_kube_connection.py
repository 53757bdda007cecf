"""Kubeconfig loading against the API server double over real HTTPS: merged KUBECONFIG lists,
--kubeconfig, --context, exec credential plugins, in-cluster config, and one-line errors."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
import yaml

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube import connection as conn_module
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.errors import KubeConfigError


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Never touch the real ~/.kube: HOME is a temp dir, KUBECONFIG and in-cluster unset."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
async def api():
    async with ApiServerDouble(users={"tok-alice": "alice", "tok-bob": "bob"}) as server:
        yield server


def write_yaml(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def context_file(path: Path, api: ApiServerDouble, context: str, *, token: str = "tok-alice",
                 current: str | None = None, namespace: str | None = None,
                 server: str | None = None) -> Path:
    """A kubeconfig with one context named `context` pointing at the double."""
    ctx: dict = {"cluster": f"{context}-cluster", "user": f"{context}-user"}
    if namespace:
        ctx["namespace"] = namespace
    return write_yaml(path, {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": f"{context}-cluster",
                      "cluster": {"server": server or api.url,
                                  "certificate-authority": str(api.ca_path)}}],
        "users": [{"name": f"{context}-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": ctx}],
        **({"current-context": current} if current else {}),
    })


async def user_seen(api: ApiServerDouble, connection) -> str:
    before = len(api.requests)
    await connection.transport.get_json_bytes("/api/v1/nodes", {"limit": 1})
    return api.requests[before].user


async def test_kubeconfig_flag_loads_context_server_namespace_and_token(api, tmp_path):
    path = context_file(tmp_path / "one.yaml", api, "demo", current="demo", namespace="team-a")
    async with await connect(ConnectionSettings(kubeconfig=str(path), context=None)) as conn:
        assert conn.context == "demo"
        assert conn.server == api.url
        assert conn.namespace == "team-a"
        assert conn.read_only is True
        assert conn.source == (str(path),)
        assert await user_seen(api, conn) == "alice"


async def test_namespace_defaults_to_default(api, tmp_path):
    path = context_file(tmp_path / "one.yaml", api, "demo", current="demo")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        assert conn.namespace == "default"


async def test_kubeconfig_env_merges_several_files_like_kubectl(api, tmp_path, monkeypatch):
    first = context_file(tmp_path / "a.yaml", api, "ctx-a", token="tok-alice", current="ctx-a")
    second = context_file(tmp_path / "b.yaml", api, "ctx-b", token="tok-bob", current="ctx-b")
    missing = tmp_path / "missing.yaml"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(map(str, [missing, empty, first, second])))
    # the first file that sets current-context wins (kubectl's rule); missing/empty are skipped
    async with await connect(ConnectionSettings(None, None)) as conn:
        assert conn.context == "ctx-a"
        assert conn.source == (str(first), str(second))
        assert await user_seen(api, conn) == "alice"
    # --context picks a context defined in the second file
    async with await connect(ConnectionSettings(None, "ctx-b")) as conn:
        assert conn.context == "ctx-b"
        assert await user_seen(api, conn) == "bob"


async def test_home_kube_config_is_the_default(api, isolated_env):
    (isolated_env / ".kube").mkdir()
    context_file(isolated_env / ".kube" / "config", api, "home", current="home")
    async with await connect(ConnectionSettings(None, None)) as conn:
        assert conn.context == "home"
        assert conn.source == (str(isolated_env / ".kube" / "config"),)


async def test_the_doubles_own_kubeconfig_works(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kc", user_token="tok-bob")
    async with await connect(ConnectionSettings(str(path), "kataview-demo")) as conn:
        assert await user_seen(api, conn) == "bob"


def config_error(settings: ConnectionSettings) -> str:
    with pytest.raises(KubeConfigError) as caught:
        conn_module.load_configuration(settings)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_unknown_context_lists_the_known_ones(tmp_path):
    path = write_yaml(tmp_path / "kc.yaml", {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c"}},
                     {"name": "staging", "context": {"cluster": "c"}}],
        "current-context": "prod"})
    message = config_error(ConnectionSettings(str(path), "nope"))
    assert str(path) in message
    assert "context 'nope' not found" in message
    assert "known contexts: prod, staging" in message


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: [oops\n")
    message = config_error(ConnectionSettings(str(path), None))
    assert str(path) in message
    assert "malformed YAML at line" in message


def test_malformed_file_in_kubeconfig_list_is_named(tmp_path, monkeypatch):
    good = write_yaml(tmp_path / "good.yaml", {"contexts": [], "current-context": ""})
    bad = tmp_path / "bad.yaml"
    bad.write_text("contexts:\n  - name: a\n   bad indent: here\n")
    monkeypatch.setenv("KUBECONFIG", f"{good}{os.pathsep}{bad}")
    message = config_error(ConnectionSettings(None, None))
    assert str(bad) in message and "line 3" in message


def test_missing_kubeconfig_flag_file(tmp_path):
    message = config_error(ConnectionSettings(str(tmp_path / "nowhere.yaml"), None))
    assert message == f"kubeconfig {tmp_path / 'nowhere.yaml'}: file not found"


def test_no_current_context(tmp_path):
    path = write_yaml(tmp_path / "kc.yaml", {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "only", "context": {"cluster": "c"}}]})
    message = config_error(ConnectionSettings(str(path), None))
    assert "no current-context set" in message and "known contexts: only" in message


def test_context_pointing_at_undefined_cluster(tmp_path):
    path = write_yaml(tmp_path / "kc.yaml", {
        "contexts": [{"name": "x", "context": {"cluster": "ghost"}}], "current-context": "x"})
    message = config_error(ConnectionSettings(str(path), None))
    assert "context 'x' refers to cluster 'ghost', which is not defined" in message


def test_not_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n")
    message = config_error(ConnectionSettings(str(path), None))
    assert f"kubeconfig {path}: cannot be parsed as a kubeconfig: line 1 starts a list" in message


@pytest.mark.parametrize("text", ["Hello: world\n", "# a comment\n\n{\"a\": 1}\n", "{}\n"])
def test_garbage_mapping_is_not_a_kubeconfig(tmp_path, text):
    """Not "no current-context set": the file is not a kubeconfig at all; which file, which
    line."""
    path = tmp_path / "garbage.yaml"
    path.write_text(text)
    message = config_error(ConnectionSettings(str(path), None))
    line = 3 if text.startswith("#") else 1
    assert f"kubeconfig {path}: cannot be parsed as a kubeconfig: line {line} " in message
    assert "current-context set" not in message


@pytest.mark.parametrize("user, method", [
    ({"token": "t"}, "bearer token"),
    ({"tokenFile": "/run/t"}, "bearer token from /run/t"),
    ({"client-certificate-data": "x", "client-key-data": "y"}, "client certificate"),
    ({"exec": {"command": "/usr/bin/aws", "apiVersion": "client.authentication.k8s.io/v1"}},
     "token from the exec plugin aws"),
    ({"username": "admin", "password": "s3cret"}, "basic auth as admin"),
])
def test_credentials_are_described_without_the_secret(user, method):
    described = conn_module.credentials_of("dev", user)
    assert described == f'user "dev" ({method})'
    assert "s3cret" not in described


def test_missing_certificate_file_is_named(tmp_path):
    path = write_yaml(tmp_path / "kc.yaml", {
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1",
                                               "certificate-authority": "ca-missing.pem"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x"})
    message = config_error(ConnectionSettings(str(path), None))
    assert "ca-missing.pem" in message and str(path) in message


def test_nothing_found_and_not_in_cluster(isolated_env):
    message = config_error(ConnectionSettings(None, None))
    assert "no kubeconfig found" in message
    assert str(isolated_env / ".kube" / "config") in message


def exec_plugin(tmp_path: Path, token_file: Path, *, fail: bool = False,
                expiry: str | None = None) -> Path:
    """A tiny exec credential plugin printing an ExecCredential with the token in token_file;
    each run appends a line to runs.log."""
    status = '"token": "\'"$(cat ' + str(token_file) + ')"\'"'
    if expiry:
        status += f', "expirationTimestamp": "{expiry}"'
    script = tmp_path / "plugin.sh"
    body = ("echo 'plugin broke: no credentials' >&2; exit 3" if fail else
            "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1\", "
            "\"kind\": \"ExecCredential\", \"status\": {" + status + "}}'")
    script.write_text(f"#!/bin/sh\necho run >> {tmp_path / 'runs.log'}\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def exec_kubeconfig(tmp_path: Path, api: ApiServerDouble, plugin: Path) -> Path:
    return write_yaml(tmp_path / "exec.yaml", {
        "clusters": [{"name": "c", "cluster": {"server": api.url,
                                               "certificate-authority": str(api.ca_path)}}],
        "users": [{"name": "u", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x"})


async def test_exec_plugin_token(api, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("tok-bob")
    path = exec_kubeconfig(tmp_path, api, exec_plugin(tmp_path, token_file))
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        assert await user_seen(api, conn) == "bob"


async def test_exec_plugin_token_is_refreshed_when_it_expires(api, tmp_path):
    # an expiry inside the client's 5-minute skew counts as expired: every request re-runs
    # the plugin through Configuration.refresh_api_key_hook
    token_file = tmp_path / "token"
    token_file.write_text("tok-alice")
    plugin = exec_plugin(tmp_path, token_file, expiry="2000-01-01T00:00:00Z")
    path = exec_kubeconfig(tmp_path, api, plugin)
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        assert await user_seen(api, conn) == "alice"
        token_file.write_text("tok-bob")
        assert await user_seen(api, conn) == "bob"
    assert len((tmp_path / "runs.log").read_text().splitlines()) >= 3


async def test_exec_plugin_failure_is_one_clear_line(api, tmp_path, monkeypatch):
    path = exec_kubeconfig(tmp_path, api, exec_plugin(tmp_path, tmp_path / "t", fail=True))
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in the real program
    handlers: list = []
    message = config_error(ConnectionSettings(str(path), None))
    assert "exec credential plugin failed" in message
    assert "plugin broke: no credentials" in message and "returned 3" in message
    # the client's logging.error() must not have installed a stderr handler (basicConfig)
    assert logging.getLogger().handlers == handlers


async def test_in_cluster_config(api, tmp_path, monkeypatch):
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text("tok-bob")
    (account / "ca.crt").write_bytes(api.ca_path.read_bytes())
    (account / "namespace").write_text("kube-system\n")
    monkeypatch.setattr(conn_module, "SERVICE_ACCOUNT_DIR", account)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
    async with await connect(ConnectionSettings(None, None)) as conn:
        assert conn.context == "in-cluster"
        assert conn.namespace == "kube-system"
        assert conn.server == api.url
        assert await user_seen(api, conn) == "bob"


def test_in_cluster_without_token_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setattr(conn_module, "SERVICE_ACCOUNT_DIR", tmp_path / "none")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    message = config_error(ConnectionSettings(None, None))
    assert message.startswith("in-cluster config") and "token" in message.lower()


def test_settings_defaults():
    settings = ConnectionSettings(None, None)
    assert settings.connect_timeout == 10.0 and settings.read_only is True
    assert json.dumps([settings.kubeconfig, settings.context]) == "[null, null]"

"""Connecting to a cluster: kubeconfig files, contexts, exec plugins, in-cluster config.

Loading is done by the official client (`kubernetes.config`: KubeConfigMerger,
KubeConfigLoader, InClusterConfigLoader), which runs exec credential plugins and installs a
token refresh hook on its Configuration. kataview only adds what the client lacks:

- kubectl's merge rule for KUBECONFIG lists (the first file that sets current-context wins;
  the client lets the last one win), missing and empty files in the list are skipped;
- one-line errors naming the file or context (`KubeConfigError`), checked before the client
  sees the config, so the CLI can print them and exit 2;
- a read-only `KubeTransport` built from the loaded Configuration.

The loader is synchronous (an exec plugin is a subprocess), so `connect` runs it in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml
from kubernetes.client import Configuration
from kubernetes.config import exec_provider
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from .credentials import register_credentials
from .errors import KubeConfigError, one_line
from .transport import KubeTransport

class _NotATerminal:
    def isatty(self) -> bool:
        return False


class _NonInteractiveSys:
    """What the client's exec-credential runner sees as `sys`: the same, except that stdout
    is never a terminal. kataview's TUI owns the terminal, so a plugin run for a token
    refresh must not get its stdin or draw on its screen (spec.interactive is then false,
    as for any kubectl run without a terminal)."""

    stdout = _NotATerminal()

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


exec_provider.sys = _NonInteractiveSys()

DEFAULT_KUBECONFIG = "~/.kube/config"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER = "in-cluster"
KUBECONFIG_KEYS = ("clusters", "contexts", "users", "current-context")


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    kubeconfig: str | None = None  # --kubeconfig: one file, no merging
    context: str | None = None  # --context
    connect_timeout: float = 10.0
    read_only: bool = True


@dataclass(slots=True)
class Connection:
    """A loaded context and the transport that talks to its API server."""

    context: str  # context name, or "in-cluster"
    server: str  # https://host:port
    namespace: str  # the context's namespace, "default" when it sets none
    transport: KubeTransport
    source: tuple[str, ...] = field(default=())  # kubeconfig files used; () when in-cluster
    user: str = ""

    @property
    def read_only(self) -> bool:
        return self.transport.read_only

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """What load_configuration found: the client's Configuration and the chosen context."""

    configuration: Configuration
    context: str
    namespace: str
    source: tuple[str, ...]
    user: str = ""
    credentials: str = ""  # whose credentials, of which kind: named when the server refuses them


async def connect(settings: ConnectionSettings) -> Connection:
    """Load the configuration and build the transport. No request is sent yet: an unreachable
    server shows up as KubeUnreachable on the first request."""
    loaded = await asyncio.to_thread(load_configuration, settings)
    transport = KubeTransport(loaded.configuration, connect_timeout=settings.connect_timeout,
                              read_only=settings.read_only, credentials=loaded.credentials)
    return Connection(context=loaded.context, server=transport.server,
                      namespace=loaded.namespace, transport=transport,
                      source=loaded.source, user=loaded.user)


def load_configuration(settings: ConnectionSettings,
                       environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Blocking: resolve the kubeconfig files (or in-cluster) and load the chosen context."""
    environ = os.environ if environ is None else environ
    paths = kubeconfig_paths(settings.kubeconfig, environ)
    usable = [path for path in paths if path.is_file()]
    if settings.kubeconfig and not usable:
        raise KubeConfigError(f"kubeconfig {paths[0]}: file not found")
    documents = [(path, doc) for path in usable if (doc := _read_document(path)) is not None]
    if not documents:
        if environ.get("KUBERNETES_SERVICE_HOST"):
            return _load_in_cluster(environ)
        looked = ", ".join(str(path) for path in paths)
        raise KubeConfigError(
            f"no kubeconfig found (looked at {looked}) and not running inside a cluster; "
            "use --kubeconfig FILE or set KUBECONFIG")
    return _load_kubeconfig(documents, settings.context)


def context_names(settings: ConnectionSettings, environ: Mapping[str, str] | None = None) -> list[str]:
    """Blocking: the context names of the kubeconfig files load_configuration would read, in
    file order (a name defined twice counts once, as kubectl merges them); [] in-cluster."""
    environ = os.environ if environ is None else environ
    names: list[str] = []
    for path in kubeconfig_paths(settings.kubeconfig, environ):
        document = _read_document(path) if path.is_file() else None
        for entry in (document or {}).get("contexts") or ():
            if str(entry["name"]) not in names:
                names.append(str(entry["name"]))
    return names


def kubeconfig_paths(explicit: str | None, environ: Mapping[str, str]) -> list[Path]:
    """--kubeconfig wins; then the KUBECONFIG list (empty entries ignored); then ~/.kube/config."""
    if explicit:
        return [Path(explicit).expanduser()]
    listed = environ.get("KUBECONFIG", "")
    entries = [entry for entry in listed.split(os.pathsep) if entry]
    if entries:
        return [Path(entry).expanduser() for entry in entries]
    home = environ.get("HOME")
    base = Path(home) if home else Path.home()
    return [base / ".kube" / "config"]


def _read_document(path: Path) -> dict[str, Any] | None:
    """Parse one kubeconfig file; None when it is empty (kubectl skips those)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeConfigError(f"kubeconfig {path}: cannot read: {exc}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeConfigError(f"kubeconfig {path}: {_yaml_problem(exc)}") from None
    if document is None:
        return None
    if not isinstance(document, dict):
        raise KubeConfigError(
            f"kubeconfig {path}: cannot be parsed as a kubeconfig: line {_first_line(text)} "
            f"starts a {type(document).__name__}, expected a mapping with clusters, contexts "
            "and users")
    if not any(key in document for key in KUBECONFIG_KEYS):
        found = ", ".join(repr(str(key)) for key in list(document)[:3])
        raise KubeConfigError(
            f"kubeconfig {path}: cannot be parsed as a kubeconfig: line {_first_line(text)} "
            f"starts a mapping of {found}, with none of clusters, contexts, users or "
            "current-context")
    for key in ("clusters", "contexts", "users"):
        entries = document.get(key)
        if entries is not None and not isinstance(entries, list):
            raise KubeConfigError(f"kubeconfig {path}: '{key}' must be a list")
        for index, entry in enumerate(entries or ()):
            if not isinstance(entry, dict) or not entry.get("name"):
                raise KubeConfigError(f"kubeconfig {path}: {key}[{index}] has no name")
    return document


def _first_line(text: str) -> int:
    """The 1-based line where the YAML document's content starts (comments skipped)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return 1
    return node.start_mark.line + 1 if node is not None else 1


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"malformed YAML: {problem}"
    text = f"malformed YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and start.line != mark.line:
        text += f" ({context} at line {start.line + 1}, column {start.column + 1})"
    return text


def _load_kubeconfig(documents: list[tuple[Path, dict[str, Any]]],
                     context: str | None) -> LoadedConfig:
    files = tuple(str(path) for path, _ in documents)
    where = "kubeconfig " + ":".join(files)
    merger = KubeConfigMerger(os.pathsep.join(files))
    merged = merger.config.value
    # kubectl: the first file to set current-context wins (the client keeps the last one)
    current = next((doc["current-context"] for _, doc in documents
                    if doc.get("current-context")), None)
    merged["current-context"] = current
    name = _choose_context(merged, context, current, where)
    entry = _named(merged, "contexts", name)
    ctx = entry.get("context") or {}
    cluster_name = ctx.get("cluster")
    cluster = _named(merged, "clusters", cluster_name) if cluster_name else None
    if cluster is None:
        raise KubeConfigError(f"{where}: context '{name}' refers to cluster "
                              f"'{cluster_name or ''}', which is not defined")
    if not (cluster.get("cluster") or {}).get("server"):
        raise KubeConfigError(f"{where}: cluster '{cluster_name}' has no server")
    user = ctx.get("user") or ""
    configuration = Configuration()
    try:
        with _client_logs() as logged:
            loader = KubeConfigLoader(config_dict=merger.config, config_base_path=None,
                                      active_context=name)
            loader.load_and_set(configuration)
    except (ConfigException, OSError, KeyError, TypeError, ValueError) as exc:
        raise KubeConfigError(f"{where}: context '{name}': {one_line(str(exc))}") from None
    register_credentials(configuration, loader._user)  # the chosen user (no public accessor)
    _check_exec_plugin(loader, configuration, name, where, logged)
    _quiet_refresh_hook(configuration, loader)
    credentials = credentials_of(user, (_named(merged, "users", user) or {}).get("user") or {})
    return LoadedConfig(configuration, name, ctx.get("namespace") or "default", files, user,
                        credentials)


def credentials_of(user: str, entry: dict[str, Any]) -> str:
    """'user "dev" (bearer token)': who the kubeconfig says we are, and how we prove it
    (never the secret itself)."""
    if entry.get("exec"):
        command = str((entry.get("exec") or {}).get("command") or "?")
        method = f"token from the exec plugin {os.path.basename(command)}"
    elif entry.get("auth-provider"):
        method = f"the {(entry.get('auth-provider') or {}).get('name') or '?'} auth provider"
    elif entry.get("token"):
        method = "bearer token"
    elif entry.get("tokenFile"):
        method = f"bearer token from {entry.get('tokenFile')}"
    elif entry.get("client-certificate") or entry.get("client-certificate-data"):
        method = "client certificate"
    elif entry.get("username"):
        method = f"basic auth as {entry.get('username')}"
    else:
        method = "no credentials"
    return f'user "{user}" ({method})' if user else method


def _choose_context(merged: dict[str, Any], wanted: str | None, current: str | None,
                    where: str) -> str:
    names = [str(entry.get("name")) for entry in _entries(merged, "contexts")]
    known = ", ".join(names) if names else "none"
    if wanted:
        if wanted not in names:
            raise KubeConfigError(f"{where}: context '{wanted}' not found "
                                  f"(known contexts: {known})")
        return wanted
    if not current:
        raise KubeConfigError(f"{where}: no current-context set; pass --context "
                              f"(known contexts: {known})")
    if current not in names:
        raise KubeConfigError(f"{where}: current-context '{current}' not found "
                              f"(known contexts: {known})")
    return current


def _entries(merged: dict[str, Any], key: str) -> list[dict[str, Any]]:
    # KubeConfigMerger wraps merged entries in ConfigNode objects; unwrap them
    return [getattr(entry, "value", entry) for entry in merged.get(key) or ()]


def _named(merged: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
    return next((entry for entry in _entries(merged, key) if entry.get("name") == name), None)


def _check_exec_plugin(loader: KubeConfigLoader, configuration: Configuration, context: str,
                       where: str, logged: list[str]) -> None:
    """The client logs and swallows exec plugin failures: turn them into a config error, so
    the operator is not left with a bare 401 later."""
    user = loader._user  # the client's ConfigNode of the chosen user (no public accessor)
    if user is None or "exec" not in user:
        return
    if configuration.api_key.get("BearerToken") or configuration.cert_file:
        return
    reason = "; ".join(logged) or "the plugin returned neither a token nor a client certificate"
    raise KubeConfigError(f"{where}: context '{context}': exec credential plugin failed: "
                          f"{one_line(reason)}")


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _client_logs() -> Iterator[list[str]]:
    """Collect what the client logs while loading. Its exec plugin code calls the module-level
    logging.error(), which would otherwise run logging.basicConfig() and leave a stderr
    handler on the root logger for good (garbage across a full-screen UI)."""
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        yield capture.messages
    finally:
        root.removeHandler(capture)


class _RefreshHook:
    """The client's refresh hook (exec plugin re-run on expiry) run under _client_logs, plus
    `force()`: re-run the plugin now, as client-go does after a 401 (the transport calls it).
    The client's hook re-installs its own closure on every call: put this one back."""

    def __init__(self, hook: Any, loader: KubeConfigLoader) -> None:
        self._hook = hook
        self._loader = loader

    def __call__(self, config: Configuration) -> None:
        try:
            with _client_logs():
                self._hook(config)
        finally:
            config.refresh_api_key_hook = self

    @property
    def may_block(self) -> bool:
        """Whether a call can run the exec plugin (or reload a token): only once the client
        holds an expiry for the credentials (its hook tests `expiry`); otherwise the call only
        sets the same token again, and the transport runs it in place, not in a thread (a
        thread hop per request held every next page back until the current one was decoded)."""
        return "expiry" in vars(self._loader)

    def force(self, config: Configuration) -> None:
        user = self._loader._user  # no public accessor
        if user is None or "exec" not in user:
            return
        try:
            with _client_logs() as logged:
                self._loader._load_authentication()
                self._loader._set_config(config)
        finally:
            config.refresh_api_key_hook = self
        if logged:
            raise KubeConfigError(f"exec credential plugin failed: {one_line('; '.join(logged))}")


def _quiet_refresh_hook(configuration: Configuration, loader: KubeConfigLoader) -> None:
    hook = configuration.refresh_api_key_hook
    if hook is not None:
        configuration.refresh_api_key_hook = _RefreshHook(hook, loader)


def _load_in_cluster(environ: Mapping[str, str]) -> LoadedConfig:
    configuration = Configuration()
    loader = InClusterConfigLoader(token_filename=str(SERVICE_ACCOUNT_DIR / "token"),
                                   cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt"),
                                   environ=environ)
    try:
        loader.load_and_set(configuration)
    except ConfigException as exc:
        raise KubeConfigError(f"in-cluster config ({SERVICE_ACCOUNT_DIR}): {exc}") from None
    register_credentials(configuration)
    namespace_file = SERVICE_ACCOUNT_DIR / "namespace"
    try:
        namespace = namespace_file.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        namespace = "default"
    return LoadedConfig(configuration, IN_CLUSTER, namespace, (), "serviceaccount",
                        f"the pod's service account token ({SERVICE_ACCOUNT_DIR / 'token'})")

"""A throwaway Kubernetes control plane: the built etcd and kube-apiserver on 127.0.0.1.

    with start_control_plane(locate_binaries(), audit=True) as cp:
        cp.kubeconfig                      # admin (system:masters), CA embedded
        cp.kubeconfig_for("viewer")        # a static-token user with no rights until RBAC binds it
        cp.service_account_kubeconfig("default", "reader")   # a TokenRequest token
        cp.audit_events()                  # every request, at Metadata level
        cp.restart_apiserver()             # same port, same etcd
        cp.compact_etcd()                  # older resourceVersions answer 410 Gone

Built-in aggregated ClusterRoles (view, edit, admin) are filled at start, as the controller
manager would (`aggregate_cluster_roles`). Everything lives in one temp directory (certs, tokens, etcd data, logs, audit log), removed at the
end; both processes are ended by their PID. No kubelet, scheduler or controller runs: see
scenario_load.py for what that means for loaded objects. The apiserver can be stopped and started
again on the same port and etcd (`restart_apiserver`), e.g. to test a client across an outage.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kataview.demo.kubeconfig import kubeconfig_yaml
from kataview.demo.tls import make_pki

# Static-token users besides the admin; they belong to no group but system:authenticated, so
# they may do nothing until a test binds a (Cluster)Role to them.
LIMITED_USERS = ("viewer", "restricted", "nobody")
# Admission plugins left out: ServiceAccount (no controller makes default ServiceAccounts, so
# every pod would be rejected) and the ones that need controllers we do not run.
DISABLED_ADMISSION = "ServiceAccount"
BULK_FLAGS = ("--max-requests-inflight=0", "--max-mutating-requests-inflight=0",
              "--enable-priority-and-fairness=false")
# setpriv (util-linux) sets PR_SET_PDEATHSIG and execs the binary (same PID): if the process that
# started the control plane dies without cleaning up (SIGKILL), etcd and kube-apiserver are
# killed instead of living on (with SIGTERM, the apiserver hung on the etcd that went with it). The signal follows the starting *thread*: start it from one
# that lives as long as the control plane (pytest's and make cluster's main thread do).
DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--") if shutil.which("setpriv") else ()
AUDIT_EVERYTHING = """apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
"""


class ControlPlaneError(RuntimeError):
    pass


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path


@dataclass
class ControlPlane:
    directory: Path
    binaries: Binaries
    url: str = ""
    etcd_url: str = ""
    admin_token: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # user -> static bearer token
    audit_log: Path | None = None
    apiserver_args: list[str] = field(default_factory=list)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def ca_path(self) -> Path:
        return self.directory / "pki" / "ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "admin.kubeconfig"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def write_kubeconfig(self, path: Path, token: str, context: str = "kataview-real") -> Path:
        path.write_text(kubeconfig_yaml(self.url, token, self.ca_path.read_bytes(), context))
        path.chmod(0o600)
        return path

    def kubeconfig_for(self, user: str) -> Path:
        """A kubeconfig for one of the static-token users (LIMITED_USERS, or "admin")."""
        return self.write_kubeconfig(self.directory / f"{user}.kubeconfig", self.tokens[user])

    def request(self, method: str, path: str, body: dict | None = None, *, token: str | None = None,
                content_type: str = "application/json", timeout: float = 30) -> dict:
        """One API call as admin (or with `token`); raises urllib.error.HTTPError on >= 400."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {token or self.admin_token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        with urllib.request.urlopen(request, timeout=timeout, context=self.ssl_context()) as response:
            return json.loads(response.read() or b"{}")

    def service_account_token(self, namespace: str, name: str, seconds: int = 3600) -> str:
        """Create the ServiceAccount if missing, and return a token for it (TokenRequest API)."""
        with contextlib.suppress(urllib.error.HTTPError):  # 409: it exists already
            self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts",
                         {"metadata": {"name": name}})
        answer = self.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                              {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                               "spec": {"expirationSeconds": seconds}})
        return answer["status"]["token"]

    def service_account_kubeconfig(self, namespace: str, name: str) -> Path:
        token = self.service_account_token(namespace, name)
        return self.write_kubeconfig(self.directory / f"sa-{namespace}-{name}.kubeconfig", token)

    def audit_events(self) -> list[dict]:
        if self.audit_log is None or not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line]

    def compact_etcd(self) -> int:
        """Compact etcd at its current revision (its JSON gateway): older resourceVersions are
        gone for the apiserver's next etcd read or watch, so a client asking for one gets 410."""
        def post(path: str, body: dict) -> dict:
            request = urllib.request.Request(self.etcd_url + path, json.dumps(body).encode(),
                                             {"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        revision = int(post("/v3/kv/range", {"key": "Lw=="})["header"]["revision"])  # key "/"
        post("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def aggregate_cluster_roles(self) -> list[str]:
        """Fill aggregated ClusterRoles (view, edit, admin, ...) with the rules of the roles their
        aggregationRule selects, once: kube-controller-manager's clusterrole-aggregation
        controller does it on a real cluster, and without it `view` grants nothing."""
        roles = self.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles")["items"]
        filled = []
        for role in roles:
            selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
            rules = [rule for other in roles for selector in selectors
                     if selector.get("matchLabels") and
                     selector["matchLabels"].items() <= (other["metadata"].get("labels") or {}).items()
                     for rule in other.get("rules") or []]
            if rules:
                self.request("PATCH", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role['metadata']['name']}",
                             {"rules": rules}, content_type="application/merge-patch+json")
                filled.append(role["metadata"]["name"])
        return filled

    def stop_apiserver(self) -> None:
        stop_process(self.processes.pop("kube-apiserver", None))

    def start_apiserver(self, timeout: float = 120) -> None:
        log = open(self.directory / "kube-apiserver.log", "ab")
        self.processes["kube-apiserver"] = subprocess.Popen(
            [*DIE_WITH_PARENT, str(self.binaries.kube_apiserver), *self.apiserver_args], stdout=log, stderr=log,
            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        wait_until_ready(self, timeout)

    def restart_apiserver(self, timeout: float = 120) -> None:
        self.stop_apiserver()
        self.start_apiserver(timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen | None, grace: float = 10) -> None:
    """SIGTERM by PID, then SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_service_account_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_secret(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def _write_tokens(cp: ControlPlane, users: tuple[str, ...]) -> Path:
    cp.admin_token = secrets.token_urlsafe(24)
    cp.tokens = {"admin": cp.admin_token, **{user: secrets.token_urlsafe(24) for user in users}}
    lines = [f'{cp.admin_token},admin,uid-admin,"system:masters"']
    lines += [f"{cp.tokens[user]},{user},uid-{user}" for user in users]
    path = cp.directory / "tokens.csv"
    _write_secret(path, ("\n".join(lines) + "\n").encode())
    return path


def _etcd_args(cp: ControlPlane, quota_bytes: int | None) -> list[str]:
    client, peer = free_port(), free_port()
    cp.etcd_url = f"http://127.0.0.1:{client}"
    args = [f"--name=kataview", f"--data-dir={cp.directory / 'etcd'}",
            f"--listen-client-urls={cp.etcd_url}", f"--advertise-client-urls={cp.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=kataview=http://127.0.0.1:{peer}",
            "--unsafe-no-fsync", "--watch-progress-notify-interval=5s", "--log-level=warn"]
    if quota_bytes:
        args.append(f"--quota-backend-bytes={quota_bytes}")
    return args


def _apiserver_args(cp: ControlPlane, tokens: Path, bulk: bool, audit_policy: str | None,
                    watch_cache: bool, storage_media_type: str | None = None) -> list[str]:
    port = free_port()
    cp.url = f"https://127.0.0.1:{port}"
    pki, key = cp.directory / "pki", cp.directory / "pki" / "service-account.key"
    args = [f"--etcd-servers={cp.etcd_url}", "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1", f"--secure-port={port}", f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={cp.ca_path}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={key}", f"--service-account-signing-key-file={key}",
            f"--token-auth-file={tokens}", "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=true",
            f"--disable-admission-plugins={DISABLED_ADMISSION}", "--endpoint-reconciler-type=none",
            # for logs, exec and proxy the apiserver dials a node's kubelet at its first address of
            # these types; its default list starts with Hostname, which the resolver would send
            # to the machine's DNS server (outside loopback): dial the loopback InternalIP only
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false", "--v=1"]
    if bulk:
        args += BULK_FLAGS
    if not watch_cache:  # every read and watch goes to etcd (e.g. to meet its compaction)
        args.append("--watch-cache=false")
    if storage_media_type:  # application/json: objects in etcd are readable (and writable) as JSON
        args.append(f"--storage-media-type={storage_media_type}")
    if audit_policy:
        policy = cp.directory / "audit-policy.yaml"
        policy.write_text(audit_policy)
        cp.audit_log = cp.directory / "audit.log"
        args += [f"--audit-policy-file={policy}", f"--audit-log-path={cp.audit_log}",
                 "--audit-log-mode=blocking", "--audit-log-maxsize=0"]
    return args


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait(cp: ControlPlane, name: str, url: str, expect: bytes, timeout: float,
          context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        process = cp.processes.get(name)
        if process is None or process.poll() is not None:
            code = None if process is None else process.returncode
            raise ControlPlaneError(f"{name} exited ({code}):\n{_log_tail(cp.directory / f'{name}.log')}")
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                body = response.read()
                if expect in body:
                    return
                last = body.decode(errors="replace")[:200]
        except (OSError, urllib.error.URLError) as error:
            last = str(error)
        time.sleep(0.2)
    raise ControlPlaneError(f"{name} not ready after {timeout:.0f} s ({last}):\n"
                            f"{_log_tail(cp.directory / f'{name}.log')}")


def wait_until_ready(cp: ControlPlane, timeout: float = 120) -> None:
    _wait(cp, "kube-apiserver", cp.url + "/readyz", b"ok", timeout, cp.ssl_context())


def _start_etcd(cp: ControlPlane, quota_bytes: int | None, timeout: float) -> None:
    log = open(cp.directory / "etcd.log", "ab")
    cp.processes["etcd"] = subprocess.Popen(
        [*DIE_WITH_PARENT, str(cp.binaries.etcd), *_etcd_args(cp, quota_bytes)], stdout=log, stderr=log,
        stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    _wait(cp, "etcd", cp.etcd_url + "/health", b'"health":"true"', timeout)


@contextlib.contextmanager
def start_control_plane(binaries: Binaries, *, audit: bool | str = False, bulk: bool = False,
                        users: tuple[str, ...] = LIMITED_USERS, quota_bytes: int | None = None,
                        timeout: float = 180, parent: Path | None = None,
                        watch_cache: bool = True,
                        storage_media_type: str | None = None) -> Iterator[ControlPlane]:
    """etcd + kube-apiserver ready to serve; `audit`: True logs every request at Metadata level,
    a string is used as the audit policy. `bulk` lifts the apiserver's in-flight limits.
    `watch_cache=False` sends every read to etcd: with the cache (the default) the apiserver
    serves lists and watches at older resourceVersions from its own window, whatever etcd
    compacted. `storage_media_type="application/json"` stores objects in etcd as JSON (the
    default is protobuf), e.g. for a bench loader that writes them into etcd directly."""
    directory = Path(tempfile.mkdtemp(prefix="kataview-controlplane-", dir=parent))
    cp = ControlPlane(directory, binaries)
    try:
        make_pki(directory / "pki")
        _write_service_account_key(directory / "pki" / "service-account.key")
        tokens = _write_tokens(cp, users)
        _start_etcd(cp, quota_bytes, timeout)
        policy = AUDIT_EVERYTHING if audit is True else audit or None
        cp.apiserver_args = _apiserver_args(cp, tokens, bulk, policy, watch_cache,
                                           storage_media_type)
        cp.start_apiserver(timeout)
        cp.kubeconfig_for("admin")  # = cp.kubeconfig
        cp.aggregate_cluster_roles()
        yield cp
    finally:
        stop_control_plane(cp)


def stop_control_plane(cp: ControlPlane) -> None:
    for name in ("kube-apiserver", "etcd"):
        stop_process(cp.processes.pop(name, None))
    shutil.rmtree(cp.directory, ignore_errors=True)

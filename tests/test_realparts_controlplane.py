"""The real control plane fixture (etcd + kube-apiserver v1.37.2 on loopback): version, the admin
and limited identities (static tokens bound by RBAC, ServiceAccount tokens from TokenRequest),
the audit log, and kubectl through the admin kubeconfig."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error

import pytest

pytestmark = pytest.mark.integration

NS = "cp-fixture-test"


def status_of(call) -> int:
    try:
        call()
    except urllib.error.HTTPError as error:
        return error.code
    return 200


def whoami(control_plane, token: str) -> dict:
    review = control_plane.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                   {"apiVersion": "authentication.k8s.io/v1",
                                    "kind": "SelfSubjectReview"}, token=token)
    return review["status"]["userInfo"]


def test_version_is_the_pinned_release(control_plane):
    version = control_plane.request("GET", "/version")
    assert (version["gitVersion"], version["major"], version["minor"]) == ("v1.37.2", "1", "37")


def test_admin_is_a_cluster_admin_and_readyz_is_anonymous(control_plane):
    assert "system:masters" in whoami(control_plane, control_plane.admin_token)["groups"]
    import urllib.request
    with urllib.request.urlopen(control_plane.url + "/readyz", context=control_plane.ssl_context()) as r:
        assert r.read() == b"ok"


def test_a_limited_user_may_do_what_rbac_grants_only(control_plane):
    token = control_plane.tokens["viewer"]
    assert whoami(control_plane, token)["username"] == "viewer"
    list_nodes = lambda: control_plane.request("GET", "/api/v1/nodes", token=token)  # noqa: E731
    assert status_of(list_nodes) == 403
    control_plane.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "metadata": {"name": "cp-fixture-viewer-nodes"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "User", "name": "viewer", "apiGroup": "rbac.authorization.k8s.io"}]})
    try:
        assert status_of(list_nodes) == 200
    finally:
        control_plane.request("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/"
                                        "cp-fixture-viewer-nodes")
    assert status_of(list_nodes) == 403


def test_service_account_tokens_come_from_token_request(control_plane):
    with pytest.raises(urllib.error.HTTPError):  # a namespace of our own, new for this run
        control_plane.request("GET", f"/api/v1/namespaces/{NS}")
    control_plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    token = control_plane.service_account_token(NS, "reader")
    user = whoami(control_plane, token)
    assert user["username"] == f"system:serviceaccount:{NS}:reader"
    assert "system:serviceaccounts" in user["groups"]
    assert status_of(lambda: control_plane.request("GET", "/api/v1/pods", token=token)) == 403


def test_every_request_is_in_the_audit_log(control_plane):
    token = control_plane.tokens["nobody"]
    status_of(lambda: control_plane.request("GET", "/api/v1/namespaces/default/pods", token=token))
    events = [e for e in control_plane.audit_events() if e["user"]["username"] == "nobody"]
    assert any(e["verb"] == "list" and e["objectRef"]["resource"] == "pods"
               and e["responseStatus"]["code"] == 403 for e in events)


def test_kubectl_reaches_it_with_the_admin_kubeconfig(control_plane, tmp_path):
    from conftest import require_part
    kubectl = require_part("kubectl")
    result = subprocess.run([kubectl, "--kubeconfig", str(control_plane.kubeconfig), "--cache-dir",
                             str(tmp_path / "cache"), "get", "namespace", "kube-system", "-o", "json"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["phase"] == "Active"



def test_own_control_plane_restarts_compacts_and_goes_at_the_end():
    """A control plane of the test's own: the apiserver restarts on the same etcd (data kept);
    without the watch cache, a list at a resourceVersion etcd compacted is 410 Expired."""
    from realbuilds import control_plane_binaries
    from realparts.controlplane import start_control_plane

    with start_control_plane(control_plane_binaries(), users=(), watch_cache=False) as plane:
        made = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": "kept"}})
        old_pid = plane.processes["kube-apiserver"].pid
        plane.restart_apiserver()
        assert plane.processes["kube-apiserver"].pid != old_pid
        assert plane.request("GET", "/api/v1/namespaces/kept")["metadata"]["uid"] == made["metadata"]["uid"]
        old = made["metadata"]["resourceVersion"]
        plane.request("PATCH", "/api/v1/namespaces/kept", {"metadata": {"labels": {"a": "b"}}},
                      content_type="application/merge-patch+json")
        assert plane.compact_etcd() > int(old)
        try:
            plane.request("GET", f"/api/v1/namespaces?resourceVersion={old}&resourceVersionMatch=Exact")
            raise AssertionError("an exact list at a compacted resourceVersion was answered")
        except urllib.error.HTTPError as error:
            assert error.code == 410 and json.loads(error.read())["reason"] == "Expired"
        processes, directory = list(plane.processes.values()), plane.directory
    assert all(p.poll() is not None for p in processes)
    assert not directory.exists()


def test_the_builtin_view_role_grants_what_it_does_on_a_real_cluster(control_plane):
    """`view` is aggregated: empty until its rules are filled in (the controller manager's job,
    done by the fixture). It reads pods and events, not nodes or RuntimeClasses."""
    view = control_plane.request("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
    assert view["aggregationRule"] and view["rules"]
    control_plane.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "metadata": {"name": "cp-fixture-restricted-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "restricted", "apiGroup": "rbac.authorization.k8s.io"}]})
    token = control_plane.tokens["restricted"]
    code = lambda path: status_of(lambda: control_plane.request("GET", path, token=token))  # noqa: E731
    try:
        deadline = time.monotonic() + 30  # RBAC sees a new binding through its informer
        while code("/api/v1/pods") != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert code("/api/v1/pods") == code("/api/v1/events") == 200
        assert code("/api/v1/nodes") == code("/apis/node.k8s.io/v1/runtimeclasses") == 403
    finally:
        control_plane.request("DELETE", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/"
                                        "cp-fixture-restricted-view")

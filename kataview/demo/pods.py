"""The pod builder: spec as the apiserver stores it after admission (RuntimeClass overhead and
scheduling merged in, default tolerations, service-account volume) and a kubelet-written status."""

from __future__ import annotations

from .objects import COMMANDS, DEFAULT_TOLERATIONS, IMAGES, Ids

_TERMINATION = {"terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
_EMPTY: dict = {}


def _container(name: str, mount: list) -> dict:
    image = IMAGES.get(name, IMAGES["nginx"])[0]
    command = COMMANDS.get(name)
    if command:
        return {"name": name, "image": image, "command": command, "resources": _EMPTY,
                "volumeMounts": mount, **_TERMINATION}
    return {"name": name, "image": image, "resources": _EMPTY, "volumeMounts": mount,
            **_TERMINATION}


def _volume_mount(volume: str) -> list:
    return [{"name": volume, "readOnly": True,
             "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]


_PROJECTED_SOURCES = [
    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]


def _volume(volume: str) -> dict:
    return {"name": volume, "projected": {"sources": _PROJECTED_SOURCES, "defaultMode": 420}}


def _condition(kind: str, ok: bool, at: str, reason: str | None = None,
               message: str | None = None) -> dict:
    cond = {"type": kind, "status": "True" if ok else "False", "lastProbeTime": None,
            "lastTransitionTime": at}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def pod(ids: Ids, name: str, ns: str, node: str | None, created: str, *,
        containers: tuple[str, ...] = ("curl", "nginx"), runtime_class: dict | None = None,
        owner: tuple[str, str, str] | None = None, labels: dict | None = None,
        state: str = "Running", restarts: int = 0, pod_ip: str | None = None,
        host_ip: str | None = None, started: str | None = None,
        last_finished: str | None = None, generate_name: str | None = None,
        runtime_class_name: str | None = None) -> dict:
    """`state`: Running, ContainerCreating, Pending (unschedulable) or CrashLoopBackOff."""
    volume = f"kube-api-access-{ids.suffix()}"
    mount = _volume_mount(volume)
    meta: dict = {"name": name}
    if generate_name:
        meta["generateName"] = generate_name
    meta.update(namespace=ns, uid=ids.uid(), creationTimestamp=created, labels=labels or {})
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                    "uid": owner[2], "controller": True, "blockOwnerDeletion": True}]
    spec: dict = {"volumes": [_volume(volume)],
                  "containers": [_container(c, mount) for c in containers],
                  "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                  "dnsPolicy": "ClusterFirst", "serviceAccountName": "default",
                  "serviceAccount": "default"}
    if node and state != "Pending":
        spec["nodeName"] = node
    spec.update(securityContext=_EMPTY, schedulerName="default-scheduler",
                tolerations=list(DEFAULT_TOLERATIONS), priority=0, enableServiceLinks=True,
                preemptionPolicy="PreemptLowerPriority")
    rc_name = runtime_class_name or (runtime_class["metadata"]["name"] if runtime_class else None)
    if rc_name:
        spec["runtimeClassName"] = rc_name
    if runtime_class:
        _admit(spec, runtime_class)
    status = _status(ids, containers, state, restarts, created, started or created, pod_ip,
                     host_ip, last_finished)
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": status}


def _admit(spec: dict, runtime_class: dict) -> None:
    """What the RuntimeClass admission plugin adds to a pod."""
    pod_fixed = (runtime_class.get("overhead") or {}).get("podFixed")
    if pod_fixed:
        spec["overhead"] = pod_fixed
    scheduling = runtime_class.get("scheduling") or {}
    if scheduling.get("nodeSelector"):
        spec["nodeSelector"] = {**spec.get("nodeSelector", {}), **scheduling["nodeSelector"]}
    if scheduling.get("tolerations"):
        spec["tolerations"] = spec["tolerations"] + list(scheduling["tolerations"])


def _status(ids: Ids, containers: tuple[str, ...], state: str, restarts: int, created: str,
            started: str, pod_ip: str | None, host_ip: str | None,
            last_finished: str | None) -> dict:
    if state == "Pending":
        return {"phase": "Pending", "conditions": [_condition(
            "PodScheduled", False, created, "Unschedulable",
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. "
            "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")],
            "qosClass": "BestEffort"}
    creating, crashing = state == "ContainerCreating", state == "CrashLoopBackOff"
    names = " ".join(containers)
    unready = f"containers with unready status: [{names if creating else containers[0]}]"
    ready = not (creating or crashing)
    status: dict = {"phase": "Pending" if creating else "Running", "conditions": [
        _condition("PodReadyToStartContainers", not creating, started),
        _condition("Initialized", True, created),
        _condition("Ready", ready, started, None if ready else "ContainersNotReady",
                   None if ready else unready),
        _condition("ContainersReady", ready, started, None if ready else "ContainersNotReady",
                   None if ready else unready),
        _condition("PodScheduled", True, created)], "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
    if not creating:
        status.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    status["startTime"] = created
    status["containerStatuses"] = [
        _container_status(ids, c, state if i == 0 else "Running" if not creating else state,
                          restarts if i == 0 else 0, started, last_finished)
        for i, c in enumerate(containers)]
    status["qosClass"] = "BestEffort"
    return status


def _container_status(ids: Ids, name: str, state: str, restarts: int, started: str,
                      last_finished: str | None) -> dict:
    image, image_id = IMAGES.get(name, IMAGES["nginx"])
    if state == "ContainerCreating":
        return {"name": name, "state": {"waiting": {"reason": "ContainerCreating"}},
                "lastState": _EMPTY, "ready": False, "restartCount": 0, "image": image,
                "imageID": "", "started": False}
    last: dict = _EMPTY
    if restarts and last_finished:
        last = {"terminated": {"exitCode": 1 if state == "CrashLoopBackOff" else 137,
                               "reason": "Error", "startedAt": started,
                               "finishedAt": last_finished,
                               "containerID": f"containerd://{ids.hex()}"}}
    if state == "CrashLoopBackOff":
        current = {"waiting": {"reason": "CrashLoopBackOff", "message":
                               f"back-off 5m0s restarting failed container={name} pod=..."}}
        ready = False
    else:
        current = {"running": {"startedAt": last_finished or started}}
        ready = True
    return {"name": name, "state": current, "lastState": last, "ready": ready,
            "restartCount": restarts, "image": image, "imageID": image_id,
            "containerID": f"containerd://{ids.hex()}", "started": ready}

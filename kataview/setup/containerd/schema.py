"""What containerd's CRI plugin reads from its config, per config version. Pure functions.

containerd decodes TOML into Go structs and silently drops keys it does not know, so a typo such
as `privileged_without_host_device` passes `containerd config dump` and then does nothing. The
runtime-table schema below is the union of the CRI `Runtime` struct's TOML tags from containerd
1.6 to 2.2; `check_runtime_keys` reports every other key.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Mapping

from kataview.setup.toml_edit import render_value

DEFAULT_RUNTIME_TYPE = "io.containerd.kata.v2"
KATA_POD_ANNOTATIONS = ("io.katacontainers.*",)

# Where the CRI plugin's config lives, by config version (absent version key = 1).
CRI_PLUGIN = {1: ("plugins", "cri"), 2: ("plugins", "io.containerd.grpc.v1.cri"),
              3: ("plugins", "io.containerd.cri.v1.runtime"), 4: ("plugins", "io.containerd.cri.v1.runtime")}
SCHEMA_OF_VERSION = {1: 1, 2: 2, 3: 3, 4: 3}
PLUGIN_OF_SCHEMA = {1: CRI_PLUGIN[1], 2: CRI_PLUGIN[2], 3: CRI_PLUGIN[3]}
CRI_PLUGIN_IDS = frozenset({"cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime"})
DEPRECATED_RUNTIME_TABLES = {"default_runtime": "default", "untrusted_workload_runtime": "untrusted"}

RUNTIME_KEYS = frozenset({
    "runtime_type", "runtime_path", "runtime_engine", "runtime_root", "pod_annotations",
    "container_annotations", "privileged_without_host_devices",
    "privileged_without_host_devices_all_devices_allowed", "base_runtime_spec", "cni_conf_dir",
    "cni_max_conf_num", "snapshotter", "sandbox_mode", "sandboxer", "io_type",
    "treat_ro_mounts_as_rro", "options",
    # containerd 2.1/2.2 additions, present in `containerd config default` of 2.x
    "cgroup_writable", "disable_pause_image_pull",
})
# Options of shims that are not runc are decoded into runtimeoptions.Options.
GENERIC_OPTION_KEYS = frozenset({"TypeUrl", "ConfigPath", "ConfigBody"})
RUNC_OPTION_KEYS = frozenset({
    "NoPivotRoot", "NoNewKeyring", "ShimCgroup", "IoUid", "IoGid", "BinaryName", "Root",
    "CriuPath", "SystemdCgroup", "CriuImagePath", "CriuWorkPath", "TaskApiAddress", "TaskApiVersion",
})

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KATA_TYPE = re.compile(r"^io\.containerd\.kata[A-Za-z0-9_.-]*\.v2$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a config: a code, a severity, where, and a sentence."""

    code: str
    severity: str  # "info", "warning", "error"
    message: str
    path: tuple[str, ...] = ()
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{self.severity}: {where}{self.message}"


def handler_name_problem(name: str) -> str | None:
    """Why `name` cannot be a RuntimeClass handler (RFC 1123 DNS label), or None."""
    if len(name) > 63:
        return f"{name!r} is {len(name)} characters long; a handler name has at most 63"
    if not _DNS_LABEL.match(name):
        return (f"{name!r} is not a DNS label (RFC 1123): use lowercase letters, digits and '-', "
                "starting and ending with a letter or digit")
    return None


def runtimes_path(version: int) -> tuple[str, ...]:
    return CRI_PLUGIN[version] + ("containerd", "runtimes")


def is_kata_runtime(table: Mapping[str, Any]) -> bool:
    """Does this runtime table start Kata (shim v2, or the Kata 1.x `kata-runtime` OCI CLI)?"""
    options = table.get("options")
    binary = options.get("BinaryName", "") if isinstance(options, Mapping) else ""
    return bool(
        _KATA_TYPE.match(str(table.get("runtime_type", "")))
        or "containerd-shim-kata" in str(table.get("runtime_path", ""))
        or "kata-runtime" in str(table.get("runtime_engine", ""))
        or "kata-runtime" in str(binary))


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'options': {'ConfigPath': p}} -> {'options.ConfigPath': p}."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _suggest(key: str, known: frozenset[str]) -> str:
    lowered = {k.lower(): k for k in known}
    if key.lower() in lowered:
        return f"; did you mean {lowered[key.lower()]!r} (case differs)?"
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.8)
    return f"; did you mean {close[0]!r}?" if close else ""


def runtime_key_findings(name: str, table: Mapping[str, Any], path: tuple[str, ...]) -> list[Finding]:
    """Unknown keys in one runtime table (and in its options, for known shim kinds)."""
    findings = []
    for key in table:
        if key not in RUNTIME_KEYS:
            findings.append(Finding(
                "unknown-runtime-key", "warning",
                f"runtime {name!r}: unknown key {key!r}; containerd ignores it silently"
                + _suggest(key, RUNTIME_KEYS), path + (key,)))
    options = table.get("options")
    if isinstance(options, Mapping):
        runc = str(table.get("runtime_type", "")).startswith("io.containerd.runc.")
        known = RUNC_OPTION_KEYS if runc else GENERIC_OPTION_KEYS
        for key in options:
            if key not in known:
                findings.append(Finding(
                    "unknown-runtime-option", "warning",
                    f"runtime {name!r}: option {key!r} is not an option of "
                    f"{'the runc shim' if runc else 'this shim (TypeUrl, ConfigPath, ConfigBody)'}; "
                    "containerd ignores it silently" + _suggest(key, known), path + ("options", key)))
    return findings


def check_runtime_keys(data: Mapping[str, Any], version: int) -> list[Finding]:
    """Findings for every runtime table that `version` makes containerd read.

    Covers `...containerd.runtimes.<name>` and, for versions 1 and 2, the deprecated
    `default_runtime` / `untrusted_workload_runtime` tables.
    """
    containerd = dig(data, CRI_PLUGIN[version] + ("containerd",))
    if not isinstance(containerd, Mapping):
        return []
    findings: list[Finding] = []
    base = CRI_PLUGIN[version] + ("containerd",)
    runtimes = containerd.get("runtimes")
    if isinstance(runtimes, Mapping):
        for name, table in runtimes.items():
            if isinstance(table, Mapping):
                findings += runtime_key_findings(name, table, base + ("runtimes", name))
            else:
                findings.append(Finding("runtime-not-a-table", "error",
                                        f"runtime {name!r} is not a table", base + ("runtimes", name)))
    if version <= 2:
        for key in DEPRECATED_RUNTIME_TABLES:
            table = containerd.get(key)
            if isinstance(table, Mapping):
                findings += runtime_key_findings(key, table, base + (key,))
    return findings


def dig(data: Any, path: tuple[str, ...]) -> Any:
    """data[p0][p1]... or None when a step is missing or not a table."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


# Why kataview sets each key of the Kata handler (shown when an existing handler lacks one).
_WHY_PRIVILEGED = ("without it a privileged pod gets every host device passed into the Kata VM, "
                   "which the guest cannot use and the Kata docs ask to avoid")
KEY_REASONS = {
    "runtime_type": "the shim containerd starts for this handler (io.containerd.kata.v2 runs "
                    "containerd-shim-kata-v2)",
    "privileged_without_host_devices": _WHY_PRIVILEGED,
    "pod_annotations": "lets pods pass io.katacontainers.* annotations (per-pod Kata settings) "
                       "through to the shim; without it containerd drops them",
    "options.ConfigPath": "the Kata configuration (hypervisor, guest kernel and image) the shim loads",
}
CRIO_KEY_REASONS = {
    "runtime_path": "the shim CRI-O starts for this handler",
    "runtime_type": '"vm" is how CRI-O runs a shim v2 runtime such as Kata\'s',
    "runtime_root": "where the Kata shim keeps its state (/run/vc)",
    "runtime_config_path": "the Kata configuration (hypervisor, guest kernel and image) the shim loads",
    "privileged_without_host_devices": _WHY_PRIVILEGED,
    "allowed_annotations": "lets pods pass io.katacontainers.* annotations (per-pod Kata settings) "
                           "through to the shim; without it CRI-O drops them",
}
LIST_KEYS = frozenset({"pod_annotations", "allowed_annotations"})  # kataview adds to these


def describe_change(key: str, current: Any, wanted: Any, present: bool, why: str) -> str:
    """`would add KEY = VALUE: why` / `would change KEY: OLD -> NEW: why` / for a list kataview
    extends, `would add "X" to KEY (keeping ...)`."""
    if not present:
        text = f"would add {key} = {render_value(wanted)}"
    elif key in LIST_KEYS and isinstance(current, list) and isinstance(wanted, list):
        missing = ", ".join(render_value(v) for v in wanted if v not in current)
        kept = ", ".join(render_value(v) for v in current)
        text = f"would add {missing} to {key}" + (f" (keeping {kept})" if kept else "")
    else:
        text = f"would change {key}: {current!r} -> {wanted!r}"
    return f"{text}: {why}" if why else text


def version_mismatch(file_version: int, containerd: tuple[int, int] | None, source: str,
                     handler: str) -> Finding | None:
    """A version 3 (or 4) file for a containerd 1.x, which reads it as version 2: the v3 tables
    (io.containerd.cri.v1.runtime and the rest) are then silently ignored."""
    if containerd is None or containerd[0] >= 2 or file_version < 3:
        return None
    return Finding("version-for-newer-containerd", "warning",
                   f"this file says version = {file_version}, but containerd {containerd[0]}.{containerd[1]} "
                   f"({source}) reads it as version 2 and silently ignores its version "
                   f"{file_version} tables: the {handler!r} handler would not be loaded; upgrade "
                   "to containerd 2.x first, or, if the file is for another machine, say which "
                   "containerd reads it with --containerd-version")

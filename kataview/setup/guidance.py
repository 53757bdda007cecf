"""Install guidance for what the preflight found. kataview never downloads or installs
binaries itself: it says what to run, and why, and the operator runs it."""

from __future__ import annotations

from kataview.setup.preflight import PreflightReport

__all__ = ["KATA_DEPLOY_HELM", "install_guidance"]

KATA_DEPLOY_HELM = (
    'export VERSION=<a release of github.com/kata-containers/kata-containers, e.g. the latest tag>\n'
    'helm install kata-deploy oci://ghcr.io/kata-containers/kata-deploy-charts/kata-deploy \\\n'
    '  --version "${VERSION}" --namespace kube-system --wait')
PACKAGES = (
    "Fedora / CentOS Stream / RHEL: dnf install kata-containers\n"
    "openSUSE / SLE: zypper install katacontainers\n"
    "Others: the release's kata-static tarball unpacked under /opt/kata (by you, checked against "
    "its published checksum)")


def install_guidance(report: PreflightReport) -> list[tuple[str, str]]:
    """(title, text) paragraphs, most important first."""
    advice: list[tuple[str, str]] = []
    if not report.kvm or not report.virt_flag:
        missing = " and ".join(part for part, ok in (("/dev/kvm", report.kvm), ("the vmx/svm CPU flag",
                                                                                 report.virt_flag)) if not ok)
        advice.append(("No hardware virtualization", (
            f"{report.node} lacks {missing}. Kata's QEMU, Cloud Hypervisor and Firecracker VMs need "
            "KVM: enable VT-x/AMD-V in the firmware, or nested virtualization if the node is itself a "
            "VM (e.g. kvm_intel nested=1 on its host), then `modprobe kvm_intel` or `kvm_amd`. "
            "gVisor (runsc) runs without KVM if Kata cannot.")))
    if not report.shim:
        advice.append(("Install Kata Containers", (
            "Recommended: kata-deploy's Helm chart. It installs Kata under /opt/kata on every "
            "node it is scheduled to, adds the kata-* handlers to containerd or CRI-O and creates "
            "the RuntimeClasses (the steps below then find them done):\n" + KATA_DEPLOY_HELM +
            "\n\nOr the distribution's packages, then come back for the config steps:\n" + PACKAGES)))
    elif report.kata_check_ok is False:
        tail = "\n".join(report.kata_check.strip().splitlines()[-6:])
        advice.append(("Kata's own check failed", (
            f"{report.shim} is installed but its check did not pass:\n{tail}\n"
            "Fix what it names (usually KVM or kernel modules) before going on.")))
    layout = report.layout
    if layout is not None and layout.note:
        advice.append((f"{layout.name}: where the config lives", layout.note +
                       f". Restart command: `{' '.join(layout.restart)}`; CRI socket {layout.socket}."))
    if report.config_problem:
        advice.append(("The runtime config needs attention", f"{report.config_path}: {report.config_problem}"))
    if report.distribution is None:
        advice.append(("No container runtime found", (
            "kataview found neither containerd nor CRI-O on this node (no process, no config in "
            "the usual places). Install the node's runtime first.")))
    if not advice:
        advice.append(("Ready", f"{report.node} has KVM, a Kata shim ({report.shim}) and "
                       f"{report.distribution}: go on with the config steps."))
    return advice

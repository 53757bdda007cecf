"""Every config kataview writes, checked by the real containerd (1.6): `containerd --config F config dump`.

config dump only loads and prints the merged config (no daemon, no sockets). containerd 1.6 reads
version 1 and 2 files; it reads `version = 3` as 2, so v3/v4 results are checked by re-parsing only
(tests/test_setup_containerd.py). The dump always prints the version 2 layout, also for v1 files.
"""

from __future__ import annotations

import io
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import require_part
from kataview.cli import setup_containerd
from kataview.setup.containerd.patch import plan_containerd_patch
from kataview.setup.toml_edit import ConfigError

pytestmark = pytest.mark.integration

CONFIGS = Path(__file__).resolve().parent / "corpus" / "containerd-config"
KATA_CONFIG = "/opt/kata/share/defaults/kata-containers/configuration-qemu.toml"

WRITTEN = {
    "dotted.toml": 'version = 2\n# c\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                   '  default_runtime_name = "runc"\n'
                   '  runtimes.runc = { runtime_type = "io.containerd.runc.v2", options = { SystemdCgroup = true } }\n\n'
                   '[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/opt/cni/bin"\n',
    "dotted-deep.toml": 'version = 2\n[plugins]\n'
                        '"io.containerd.grpc.v1.cri".containerd.runtimes.runc.runtime_type = "io.containerd.runc.v2"\n',
    "inline.toml": 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                   '  runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }  # inline\n',
    "crlf.toml": 'version = 2\r\n# c\r\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\r\n'
                 '  runtime_type = "io.containerd.runc.v2" # t\r\n',
    "v1.toml": '# v1 without a version key\n[plugins.cri.containerd]\n  snapshotter = "overlayfs"\n',
    "debian.toml": 'version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n'
                   '    [plugins."io.containerd.grpc.v1.cri".cni]\n      bin_dir = "/usr/lib/cni"\n'
                   '      conf_dir = "/etc/cni/net.d"\n  [plugins."io.containerd.internal.v1.opt"]\n'
                   '    path = "/var/lib/containerd/opt"\n',
    "empty.toml": "",
}


@pytest.fixture(scope="module")
def containerd() -> str:
    return require_part("containerd", "/usr/bin/containerd")


def dump(binary: str, path: Path) -> dict:
    result = subprocess.run([binary, "--config", str(path), "config", "dump"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return tomllib.loads(result.stdout)


def schema_1_or_2_cases() -> list[str]:
    cases = []
    for path in sorted(CONFIGS.iterdir()):
        try:
            plan = plan_containerd_patch(path.read_text(), kata_config=KATA_CONFIG, force=True)
        except ConfigError:
            continue  # refusals are covered by the pure tests
        if plan.info.version <= 2:
            cases.append(path.name)
    return cases + sorted(WRITTEN)


def source_text(name: str, tmp_path: Path, binary: str) -> str:
    if name in WRITTEN:
        return WRITTEN[name]
    if name == "containerd-config-default":
        return subprocess.run([binary, "config", "default"], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    return (CONFIGS / name).read_text()


@pytest.mark.parametrize("name", schema_1_or_2_cases() + ["containerd-config-default"])
def test_containerd_loads_the_patched_config(name: str, tmp_path: Path, containerd: str):
    text = source_text(name, tmp_path, containerd)
    imports = tmp_path / "opt" / "kata" / "containerd" / "config.d"
    imports.mkdir(parents=True)
    (imports / "kata-deploy.toml").write_text("")  # the imported file must exist for containerd
    text = text.replace("/opt/kata/containerd/config.d", str(imports))
    plan = plan_containerd_patch(text, kata_config=KATA_CONFIG, force=True)
    assert plan.changed
    patched = tmp_path / "config.toml"
    patched.write_bytes(plan.new_text.encode())
    loaded = dump(containerd, patched)
    cri = loaded["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]
    kata = cri["runtimes"]["kata"]
    assert kata["runtime_type"] == "io.containerd.kata.v2"
    assert kata["privileged_without_host_devices"] is True
    assert "io.katacontainers.*" in kata["pod_annotations"]
    assert kata["options"]["ConfigPath"] == KATA_CONFIG
    # the node keeps working: the default runtime is still defined (unless it was not before)
    already_broken = any(w.code == "default-runtime-undefined" for w in plan.warnings)
    if plan.info.effective_default_runtime_name == "default":
        # containerd derives handler 'default' from default_runtime when the CRI plugin starts
        assert cri["default_runtime"]["runtime_type"]
    elif not already_broken:
        assert cri["default_runtime_name"] in cri["runtimes"]
    original = tmp_path / "original.toml"
    original.write_bytes(text.encode())
    before = dump(containerd, original)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
    for handler, table in before.items():  # every other handler as before
        if handler != "kata":
            assert without_zero_options(cri["runtimes"][handler]) == without_zero_options(table)


def without_zero_options(table: dict) -> dict:
    """The built-in runc prints its shim options with zero values; written out, it has none. Same thing."""
    options = {k: v for k, v in table.get("options", {}).items() if v not in ("", 0, False)}
    return {**table, "options": options}


def test_builtin_runc_would_be_lost_without_writing_it_out(tmp_path: Path, containerd: str):
    """Why the plan writes runc out: containerd 1.6 drops the built-in list once any runtime is declared."""
    only_kata = tmp_path / "only-kata.toml"
    only_kata.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
                         '  runtime_type = "io.containerd.kata.v2"\n')
    assert set(dump(containerd, only_kata)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]) == {"kata"}


def test_dropin_on_1x_replaces_the_whole_cri_section(tmp_path: Path, containerd: str):
    """Why drop-in mode is refused before 2.2: the import wipes runc and CNI settings."""
    dropin = tmp_path / "kata.toml"
    dropin.write_text('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
                      '  runtime_type = "io.containerd.kata.v2"\n')
    main_file = tmp_path / "config.toml"
    main_file.write_text(f'version = 2\nimports = ["{dropin}"]\n'
                         '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
                         '  runtime_type = "io.containerd.runc.v2"\n'
                         '[plugins."io.containerd.grpc.v1.cri".cni]\n  bin_dir = "/custom/cni"\n')
    cri = dump(containerd, main_file)["plugins"]["io.containerd.grpc.v1.cri"]
    assert set(cri["containerd"]["runtimes"]) == {"kata"} and cri["cni"]["bin_dir"] != "/custom/cni"


def test_cli_checks_with_containerd_before_rename(tmp_path: Path, containerd: str):
    config = tmp_path / "config.toml"
    config.write_text(WRITTEN["debian.toml"])
    out, err = io.StringIO(), io.StringIO()
    assert setup_containerd.main(["--config", str(config)], out=out, err=err) == 0
    assert "kata" in dump(containerd, config)["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]


def test_containerd_check_rejects_a_bad_temp_file(tmp_path: Path, containerd: str):
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
                   '  runtime_type = "io.containerd.kata.v2"\n  runtime_type = "again"\n')
    check = setup_containerd.containerd_check(tmp_path / "config.toml", "kata", (1, 6))
    assert check is not None
    with pytest.raises(ConfigError) as caught:
        check(bad)
    assert "containerd rejects the result" in caught.value.problem

"""CRI-O: inspection of every corpus config against EXPECTED.md, and the drop-in plan/command.

crio is not installable on these machines, so results are checked by re-parsing (tomllib) and
by replaying CRI-O's merge rule (main file, then crio.conf.d in lexical order, last key wins).
"""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from kataview.cli import setup_crio
from kataview.model.exit_codes import Exit
from kataview.setup.crio import (DEFAULT_SHIM, crio_runtimes, dropin_name, inspect_crio_config,
                                 plan_crio_dropin)
from kataview.setup.toml_edit import ConfigError
from tests.conftest import CORPUS

KIND = "crio-config"


def expected_blocks() -> dict[str, dict]:
    text = (CORPUS / "EXPECTED.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return {b["file"]: b for b in blocks if isinstance(b, dict) and str(b.get("file", "")).startswith(KIND + "/")}


EXPECTED = expected_blocks()


def test_every_corpus_file_has_an_answer():
    files = sorted(p.name for p in (CORPUS / KIND).iterdir())
    assert sorted(n.split("/", 1)[1] for n in EXPECTED) == files and len(files) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inspect_matches_expected(name):
    want = EXPECTED[name]
    info = inspect_crio_config((CORPUS / name).read_text())
    assert info.default_runtime == want["default_runtime"]
    assert list(info.runtimes) == list(want["runtimes"])
    for handler, facts in want["runtimes"].items():
        got = info.runtimes[handler]
        for key, value in facts.items():
            if key == "runtime_type_explicit":
                assert got.runtime_type_explicit is value
            elif key in ("runtime_type", "runtime_path", "runtime_root"):
                assert getattr(got, key) == value, (handler, key)
            else:
                assert got.settings.get(key) == value, (handler, key)
    assert sorted(info.kata_runtimes) == sorted(want["kata_runtimes"])
    assert list(info.workloads) == want.get("workloads", [])
    assert dict(info.legacy) == want.get("legacy", {})
    assert info.kata_legacy_untrusted == want.get("kata_legacy_untrusted")
    if "commented_out_not_defined" in want:
        assert list(info.commented_out) == want["commented_out_not_defined"]


def effective(folder: Path, handler: str, main: Path | None = None) -> dict:
    """CRI-O's merge, replayed: main file then drop-ins in lexical order, later key wins."""
    merged: dict = {}
    paths = ([main] if main and main.exists() else []) + sorted(p for p in folder.iterdir() if p.is_file())
    for path in paths:
        merged.update(crio_runtimes(tomllib.loads(path.read_text())).get(handler, {}))
    return merged


def run(argv, **kw):
    out, err = io.StringIO(), io.StringIO()
    code = setup_crio.main(argv, out=out, err=err, **kw)
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.parent.rglob("*"))
            if p.is_file() and not p.name.endswith(".kataview.lock")}  # the lock a writing run keeps


@pytest.fixture
def confd(tmp_path) -> Path:
    folder = tmp_path / "crio.conf.d"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_corpus_file_as_existing_dropin(name, confd):
    source = (CORPUS / name).read_text()
    (confd / "10-existing.conf").write_text(source)
    info = inspect_crio_config(source)
    handler = "kata" if "kata" not in info.runtimes else "kata-kv"
    before = effective(confd, "runc")
    code, out, err = run(["--config-dir", str(confd), "--handler", handler])
    assert code == 0, err
    written = confd / dropin_name(handler)
    data = tomllib.loads(written.read_text())
    assert data == {"crio": {"runtime": {"runtimes": {handler: {
        "runtime_path": DEFAULT_SHIM, "runtime_type": "vm", "runtime_root": "/run/vc",
        "privileged_without_host_devices": True, "allowed_annotations": ["io.katacontainers.*"]}}}}}
    assert (confd / "10-existing.conf").read_text() == source  # never edited
    assert effective(confd, "runc") == before  # other handlers untouched
    code, out, _ = run(["--config-dir", str(confd), "--handler", handler])
    assert code == 0 and "already configured" in out


def test_already_configured_elsewhere_is_a_noop(confd):
    (confd / "50-kata.conf").write_text((CORPUS / "crio-config/osc-1.1-crio-conf.d-50-kata.conf").read_text()
                                        + 'allowed_annotations = ["io.katacontainers.*"]\n')
    before = snapshot(confd)
    code, out, _ = run(["--config-dir", str(confd)])
    assert code == 0 and "already configured" in out and snapshot(confd) == before


def test_handler_elsewhere_with_other_settings_needs_force(confd):
    (confd / "40-kata.conf").write_text((CORPUS / "crio-config/kata-docs-privileged-runc-kata-shim2.conf").read_text())
    before = snapshot(confd)
    code, _, err = run(["--config-dir", str(confd)])
    assert code == 3 and "runtime_path: '/usr/bin/kata-runtime' -> '/usr/bin/containerd-shim-kata-v2'" in err
    assert "runtime_type: 'oci' -> 'vm'" in err and snapshot(confd) == before
    code, _, err = run(["--config-dir", str(confd), "--force"])
    assert code == 0, err
    assert effective(confd, "kata")["runtime_type"] == "vm"
    assert effective(confd, "kata")["runtime_path"] == DEFAULT_SHIM


def test_force_refused_when_a_later_file_would_win(confd):
    (confd / "99-kata.conf").write_text('[crio.runtime.runtimes.kata]\nruntime_path = "/x"\n')
    before = snapshot(confd)
    code, _, err = run(["--config-dir", str(confd), "--force"])
    assert code == Exit.CONFIG and "99-kata.conf" in err and "sorts after" in err and snapshot(confd) == before


def test_conflicting_duplicates_across_dropins_refused(confd):
    (confd / "10-a.conf").write_text('[crio.runtime.runtimes.kata]\nruntime_type = "vm"\n')
    (confd / "20-b.conf").write_text('[crio.runtime.runtimes.kata]\nruntime_type = "oci"\n')
    before = snapshot(confd)
    code, _, err = run(["--config-dir", str(confd), "--force"])
    assert code == Exit.CONFIG and "disagree" in err and "10-a.conf" in err and snapshot(confd) == before


def test_duplicate_table_in_one_file_refused_with_position(confd):
    table = '[crio.runtime.runtimes.kata]\nruntime_type = "vm"\n'
    (confd / "99-runtimes").write_text(table + "\n" + table)  # kata-containers/tests#3563
    before = snapshot(confd)
    code, _, err = run(["--config-dir", str(confd)])
    assert code == Exit.CONFIG and re.search(r"99-runtimes:4:\d+: not valid TOML", err), err
    assert snapshot(confd) == before


def test_invalid_handler_and_default_runtime_refused(tmp_path, confd):
    assert run(["--config-dir", str(confd), "--handler", "Kata_1"])[0] == Exit.CONFIG
    (tmp_path / "crio.conf").write_text((CORPUS / "crio-config/crio-testdata-config-v1.17.0.toml").read_text())
    code, _, err = run(["--config-dir", str(confd), "--handler", "runc"])
    assert code == Exit.CONFIG and "default runtime" in err and not list(confd.iterdir())


def test_main_file_is_read_first(tmp_path, confd):
    (tmp_path / "crio.conf").write_text('[crio.runtime.runtimes.kata]\nruntime_type = "oci"\n')
    code, _, err = run(["--config-dir", str(confd)])
    assert code == 3 and "crio.conf" in err
    assert run(["--config-dir", str(confd), "--force"])[0] == 0  # drop-ins win over the main file
    assert effective(confd, "kata", tmp_path / "crio.conf")["runtime_type"] == "vm"


def test_dry_run_writes_nothing_and_kata_config(confd):
    code, out, _ = run(["--config-dir", str(confd), "--dry-run", "--kata-config", "/opt/kata/c.toml"])
    assert code == 0 and '+runtime_config_path = "/opt/kata/c.toml"' in out and not list(confd.iterdir())


def test_replacing_own_file_backs_up_outside_the_dropin_dir(tmp_path, confd):
    assert run(["--config-dir", str(confd)])[0] == 0
    code, out, _ = run(["--config-dir", str(confd), "--runtime-path", "/opt/kata/bin/containerd-shim-kata-v2"])
    assert code == 3
    code, out, _ = run(["--config-dir", str(confd), "--force", "--runtime-path",
                        "/opt/kata/bin/containerd-shim-kata-v2"])
    assert code == 0 and "backup:" in out
    assert [p.name for p in confd.iterdir()] == ["50-kataview-kata.conf"]  # CRI-O reads every file
    backups = list((tmp_path / "crio.conf.d.kataview-backup").iterdir())
    assert len(backups) == 1 and "containerd-shim-kata-v2" in backups[0].read_text()
    assert effective(confd, "kata")["runtime_path"] == "/opt/kata/bin/containerd-shim-kata-v2"


def test_foreign_file_with_our_name_refused(confd):
    (confd / "50-kataview-kata.conf").write_text('[crio.runtime]\nlog_level = "debug"\n')
    assert run(["--config-dir", str(confd), "--force"])[0] == Exit.CONFIG


def test_failure_before_rename_leaves_nothing(confd):
    def boom(tmp: Path) -> None:
        raise OSError(28, "No space left on device", str(tmp))
    code, _, err = run(["--config-dir", str(confd)], before_rename=boom)
    assert code == Exit.WRITE_FAILED and list(confd.iterdir()) == []


def test_plan_is_pure_and_refuses_bad_toml():
    with pytest.raises(ConfigError) as caught:
        plan_crio_dropin([("/d/10.conf", "[crio.runtime\n")])
    assert caught.value.where().startswith("/d/10.conf:1:")
    plan = plan_crio_dropin([], handler="kata-qemu")
    assert plan.changed and plan.dropin == "50-kataview-kata-qemu.conf"

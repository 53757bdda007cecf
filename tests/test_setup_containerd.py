"""Pure tests of the containerd transforms: corpus answers from EXPECTED.md, edits, refusals."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from kataview.setup.containerd.dropin import imports_cover, plan_containerd_dropin
from kataview.setup.containerd.inspect import inspect_containerd_config
from kataview.setup.containerd.patch import ConfigError, plan_containerd_patch
from kataview.setup.containerd.schema import check_runtime_keys, runtime_key_findings

CORPUS = Path(__file__).resolve().parent / "corpus"
CONFIGS = CORPUS / "containerd-config"
KATA_CONFIG = "/opt/kata/share/defaults/kata-containers/configuration-qemu.toml"
V2 = ("plugins", "io.containerd.grpc.v1.cri", "containerd", "runtimes")
V1 = ("plugins", "cri", "containerd", "runtimes")
V3 = ("plugins", "io.containerd.cri.v1.runtime", "containerd", "runtimes")


def expected_blocks() -> dict[str, dict]:
    text = (CORPUS / "EXPECTED.md").read_text()
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    return {b["file"]: b for b in blocks if isinstance(b, dict)
            and str(b.get("file", "")).startswith("containerd-config/")}


EXPECTED = expected_blocks()
CORPUS_FILES = sorted(p.name for p in CONFIGS.iterdir())


def dig(data, path):
    for key in path:
        data = data[key]
    return data


def test_every_corpus_config_has_an_expected_answer():
    assert sorted(name.split("/", 1)[1] for name in EXPECTED) == CORPUS_FILES


def _check_settings(actual: dict, wanted: dict, where: str) -> None:
    for key, value in wanted.items():
        if key in ("note", "present", "keys", "ignored"):
            continue
        if isinstance(value, str) and "{{" in value:
            continue  # template placeholders
        assert actual.get(key, "" if value == "" else None) == value, f"{where}: {key}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inspect_matches_expected(name):
    want = EXPECTED[name]
    text = (CORPUS / name).read_text()
    if want.get("valid_toml") is False:
        # The k3s .toml.tmpl is a Go template: refused with its position, never guessed at.
        with pytest.raises(ConfigError) as caught:
            inspect_containerd_config(text)
        assert caught.value.line == 5
        return
    info = inspect_containerd_config(text)
    assert ("absent" if info.version_key is None else info.version_key) == want["version_key"]
    assert info.schema == want["schema"]
    assert info.default_runtime_name == want["default_runtime_name"]
    assert set(info.handlers) == set(want["handlers"])
    for handler, settings in want["handlers"].items():
        _check_settings(dict(info.handlers[handler].settings), settings, f"{name} {handler}")
    assert set(info.kata_handlers) == set(want["kata_handlers"])
    if "imports" in want:
        assert list(info.imports) == want["imports"]
    for table, settings in (want.get("deprecated_tables") or {}).items():
        found = info.deprecated_tables[table]
        assert found.ignored == settings["ignored"]
        if settings.get("keys") == "none":
            assert dict(found.settings) == {}
        _check_settings(dict(found.settings), settings, f"{name} {table}")
    if "effective_extra_handlers" in want:
        assert set(info.effective_extra_handlers) == set(want["effective_extra_handlers"] or {})
    if "effective_default_runtime_name" in want:
        assert info.effective_default_runtime_name == want["effective_default_runtime_name"]


def test_inspect_finds_the_misspelled_key_with_its_line():
    text = (CONFIGS / "aero-faas-v2-kata-fc-devmapper-arm64.toml").read_text()
    info = inspect_containerd_config(text)
    typo = [f for f in info.findings if "privileged_without_host_device'" in f.message]
    assert len(typo) == 1 and "did you mean 'privileged_without_host_devices'" in typo[0].message
    assert "privileged_without_host_device = true" in text.splitlines()[typo[0].line - 1]


def test_schema_check_is_pure_and_knows_our_keys():
    assert runtime_key_findings("kata", {"runtime_type": "io.containerd.kata.v2",
                                         "privileged_without_host_devices": True,
                                         "pod_annotations": ["io.katacontainers.*"],
                                         "options": {"ConfigPath": "/x"}}, V2) == []
    data = tomllib.loads('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.k]\n'
                        'runtime_type = "io.containerd.kata.v2"\nPod_Annotations = []\n'
                        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.k.options]\nconfigpath = "/x"\n')
    messages = [f.message for f in check_runtime_keys(data, 2)]
    assert any("'Pod_Annotations'" in m and "case differs" in m for m in messages)
    assert any("'configpath'" in m and "'ConfigPath'" in m for m in messages)


# ---------------------------------------------------------------- patching every corpus file

def classify(name: str) -> str:
    want = EXPECTED[f"containerd-config/{name}"]
    if want.get("valid_toml") is False:
        return "invalid"
    if want["version_key"] == "absent" and want["schema"] not in (1, None):
        return "layout-mismatch"  # drop-ins/fragments with v2/v3 tables and no version key
    if "kata" in want["handlers"]:
        return "conflict"  # corpus 'kata' handlers lack our keys (and ConfigPath)
    return "patch"


def added_lines(diff: str) -> list[str]:
    return [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]


def removed_lines(diff: str) -> list[str]:
    return [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]


def assert_handler(new_text: str, path: tuple[str, ...], kata_config: str | None = KATA_CONFIG) -> dict:
    table = dig(tomllib.loads(new_text), path)
    assert table["runtime_type"] == "io.containerd.kata.v2"
    assert table["privileged_without_host_devices"] is True
    assert "io.katacontainers.*" in table["pod_annotations"]
    if kata_config:
        assert table["options"]["ConfigPath"] == kata_config
    return table


OWN_LINE = re.compile(r"^\s*(\[.*\.runtimes\.(kata|runc)(\.options)?\]|runtime_type = |privileged_without_host_devices = "
                      r"true|pod_annotations = |ConfigPath = |# kataview: )|^\s*$")


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_patch_every_corpus_config(name):
    text = (CONFIGS / name).read_text()
    kind = classify(name)
    if kind in ("invalid", "layout-mismatch"):
        with pytest.raises(ConfigError) as caught:
            plan_containerd_patch(text, kata_config=KATA_CONFIG)
        assert caught.value.line is not None
        return
    plan = plan_containerd_patch(text, kata_config=KATA_CONFIG)
    path = plan.info.runtimes_path + ("kata",)
    if kind == "conflict":
        assert plan.needs_force and plan.new_text == text
        plan = plan_containerd_patch(text, kata_config=KATA_CONFIG, force=True)
        before = dig(tomllib.loads(text), path)
        after = assert_handler(plan.new_text, path)
        assert {k: v for k, v in after.items() if k in before and k != "pod_annotations"} == \
            {k: v for k, v in before.items() if k != "pod_annotations"}
    else:
        assert removed_lines(plan.diff) == []
        assert all(OWN_LINE.match(line) for line in added_lines(plan.diff)), plan.diff
        assert_handler(plan.new_text, path)
    again = plan_containerd_patch(plan.new_text, kata_config=KATA_CONFIG)
    assert again.already_configured and again.new_text == plan.new_text and again.diff == ""
    # every comment of the operator survives, in order
    old_comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    new_comments = [line for line in plan.new_text.splitlines() if line.lstrip().startswith("#")]
    assert [c for c in new_comments if "kataview" not in c] == old_comments


def test_v3_file_with_grpc_section_goes_to_cri_v1_runtime():
    text = (CONFIGS / "containerd-docs-v3-full-default.toml").read_text()
    plan = plan_containerd_patch(text)
    assert_handler(plan.new_text, V3 + ("kata",), kata_config=None)
    assert "kata" not in tomllib.loads(plan.new_text)["plugins"]["io.containerd.grpc.v1.cri"]
    assert "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.kata]" in plan.new_text
    assert "runtime_type = 'io.containerd.kata.v2'" in plan.new_text  # the file's quoting


# ---------------------------------------------------------------- configs written for these tests

DOTTED = '''version = 2
# operator's header comment
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"   # trailing comment
  runtimes.runc = { runtime_type = "io.containerd.runc.v2", options = { SystemdCgroup = true } }

# CNI
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = '/opt/cni/bin'
'''

INLINE = '''version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  runtimes = { runc = { runtime_type = "io.containerd.runc.v2" } }  # inline
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/x"
'''

COMMENTS = '''# head
version = 2 # v
# before plugins
[plugins] # p
  # between
  [plugins."io.containerd.grpc.v1.cri".containerd] # c
    # inside
    default_runtime_name = "runc" # d
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc] # r
      runtime_type = "io.containerd.runc.v2" # t
      # BinaryName = "/usr/local/bin/runc"

  # introduces cni
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
# tail
'''

V1_NO_VERSION = '''[plugins.cri.containerd]
  snapshotter = "overlayfs"
[plugins.cri.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
'''

V4 = '''version = 4
[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
'''

DOCKER = '''#   Copyright 2018-2022 Docker Inc.

#   Licensed under the Apache License, Version 2.0 (the "License");

disabled_plugins = ["cri"]

#root = "/var/lib/containerd"
'''

WRITTEN = {"dotted": (DOTTED, V2), "comments": (COMMENTS, V2), "v1": (V1_NO_VERSION, V1), "v4": (V4, V3),
           "crlf": (COMMENTS.replace("\n", "\r\n"), V2), "no-final-newline": (V4.rstrip("\n"), V3)}


@pytest.mark.parametrize("case", sorted(WRITTEN))
def test_written_configs_get_only_added_lines(case):
    text, runtimes = WRITTEN[case]
    plan = plan_containerd_patch(text, kata_config="/opt/kata/it's \"here\".toml")
    assert_handler(plan.new_text, runtimes + ("kata",), kata_config="/opt/kata/it's \"here\".toml")
    removed = removed_lines(plan.diff)
    if case == "no-final-newline":  # the last line only gains its line ending
        assert [r.rstrip("\r") for r in removed] == [text.splitlines()[-1]]
    else:
        assert removed == []
    assert all(OWN_LINE.match(line.rstrip("\r")) for line in added_lines(plan.diff)), plan.diff
    assert all(line in plan.new_text.splitlines() for line in text.splitlines()[:-1])
    assert plan_containerd_patch(plan.new_text, kata_config="/opt/kata/it's \"here\".toml").already_configured


def test_crlf_stays_crlf():
    plan = plan_containerd_patch(COMMENTS.replace("\n", "\r\n"), kata_config=KATA_CONFIG)
    assert "\n" not in plan.new_text.replace("\r\n", "")
    assert plan.new_text.count("\r\n") == COMMENTS.count("\n") + 7  # blank line + 6 lines


def test_dotted_keys_get_a_fully_qualified_header_not_a_stray_top_level_table():
    plan = plan_containerd_patch(DOTTED)
    data = tomllib.loads(plan.new_text)
    assert set(data) == {"version", "plugins"}  # no top-level [runtimes.kata]
    assert set(dig(data, V2)) == {"runc", "kata"}
    assert '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]' in plan.new_text
    # placed right after the table holding the dotted runtimes, before the CNI comment
    assert plan.new_text.index("runtimes.kata]") < plan.new_text.index("# CNI")


def test_comments_introducing_the_next_table_stay_with_it():
    plan = plan_containerd_patch(COMMENTS)
    lines = plan.new_text.splitlines()
    assert lines[lines.index("  # introduces cni") + 1] == '  [plugins."io.containerd.grpc.v1.cri".cni]'
    assert lines.index('      # BinaryName = "/usr/local/bin/runc"') < lines.index(
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]')


def test_inline_runtimes_table_is_extended_in_place_and_verified():
    plan = plan_containerd_patch(INLINE, kata_config=KATA_CONFIG)
    assert_handler(plan.new_text, V2 + ("kata",))
    assert len(removed_lines(plan.diff)) == 1 and len(added_lines(plan.diff)) == 1
    assert added_lines(plan.diff)[0].startswith("  runtimes = { runc = ") and "# inline" in plan.new_text
    assert plan_containerd_patch(plan.new_text, kata_config=KATA_CONFIG).already_configured


def test_builtin_runc_is_written_out_when_the_file_declares_no_runtimes():
    debian = ('version = 2\n\n[plugins]\n  [plugins."io.containerd.grpc.v1.cri"]\n'
              '    [plugins."io.containerd.grpc.v1.cri".cni]\n      bin_dir = "/usr/lib/cni"\n')
    plan = plan_containerd_patch(debian)
    assert dig(tomllib.loads(plan.new_text), V2)["runc"] == {"runtime_type": "io.containerd.runc.v2"}
    assert any("built-in 'runc'" in change for change in plan.changes)
    assert removed_lines(plan.diff) == []


def test_force_keeps_other_keys_and_annotations():
    text = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
            '  runtime_type = "io.containerd.kata-qemu.v2" # mine\n  snapshotter = "devmapper"\n'
            '  pod_annotations = ["example.com/x"]\n'
            '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]\n    ConfigPath = "/old"\n'
            '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n')
    plan = plan_containerd_patch(text, kata_config="/new")
    assert plan.needs_force and {c.key for c in plan.conflicts} == {
        "runtime_type", "privileged_without_host_devices", "pod_annotations", "options.ConfigPath"}
    forced = plan_containerd_patch(text, kata_config="/new", force=True)
    table = assert_handler(forced.new_text, V2 + ("kata",), kata_config="/new")
    assert table["snapshotter"] == "devmapper"
    assert table["pod_annotations"] == ["example.com/x", "io.katacontainers.*"]
    assert "# mine" in forced.new_text
    assert dig(tomllib.loads(forced.new_text), V2)["runc"] == {"runtime_type": "io.containerd.runc.v2"}


def test_force_on_dotted_handler_is_updated_or_refused_never_wrong():
    text = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
            '  runtimes.runc.runtime_type = "io.containerd.runc.v2"\n'
            '  runtimes.kata.runtime_type = "io.containerd.kata.v2"\n')
    try:
        plan = plan_containerd_patch(text, force=True, kata_config="/k")
    except ConfigError as exc:
        assert "internal check failed" in exc.problem
    else:
        assert_handler(plan.new_text, V2 + ("kata",), kata_config="/k")


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("plugin", ["cri", "io.containerd.grpc.v1.cri"])
def test_cri_disabled_is_refused_with_position(plugin):
    text = DOCKER.replace('"cri"', f'"{plugin}"')
    with pytest.raises(ConfigError) as caught:
        plan_containerd_patch(text)
    assert (caught.value.line, caught.value.column) == (5, 21)
    assert "disabled" in caught.value.problem and "disabled_plugins" in caught.value.remedy


def test_broken_toml_is_refused_with_line_and_column():
    with pytest.raises(ConfigError) as caught:
        plan_containerd_patch('version = 2\n[plugins."io.containerd.grpc.v1.cri"\n  x = 1\n')
    assert caught.value.line == 2 and caught.value.column is not None
    assert str(caught.value).startswith("<config>:2:")


@pytest.mark.parametrize("handler", ["Kata", "kata_qemu", "-kata", "kata-", "k" * 64, "", "kata.qemu"])
def test_bad_handler_names_are_refused(handler):
    with pytest.raises(ConfigError) as caught:
        plan_containerd_patch(V4, handler=handler)
    assert caught.value.source == "--handler"


def test_runc_and_derived_handlers_are_never_changed():
    with pytest.raises(ConfigError):
        plan_containerd_patch(V4, handler="runc", force=True)
    with pytest.raises(ConfigError):  # containerd 1.x derives 'default' from default_runtime
        plan_containerd_patch((CONFIGS / "kata1x-docs-v1-default-runtime-kata.toml").read_text(), handler="default")


def test_version_2_with_version_1_tables_is_refused():
    with pytest.raises(ConfigError) as caught:
        plan_containerd_patch('version = 2\n[plugins.cri.containerd]\n  snapshotter = "overlayfs"\n')
    assert caught.value.line == 2 and "invalid plugin key URI" in caught.value.problem


def test_unsupported_version_is_refused():
    with pytest.raises(ConfigError):
        plan_containerd_patch("version = 7\n")


# ---------------------------------------------------------------- drop-ins

def test_dropin_refused_before_containerd_2_2():
    for version in (None, (1, 6), (1, 7), (2, 1)):
        with pytest.raises(ConfigError) as caught:
            plan_containerd_dropin(V4, None, main_path="/etc/containerd/config.toml",
                                   dropin_path="/etc/containerd/conf.d/kata.toml", containerd_version=version)
        assert "replaces the main file's whole CRI plugin section" in caught.value.problem


def test_dropin_covered_by_glob_leaves_main_untouched():
    main = 'version = 3\nimports = ["/etc/containerd/conf.d/*.toml"]\n'
    plan = plan_containerd_dropin(main, None, main_path="/etc/containerd/config.toml",
                                  dropin_path="/etc/containerd/conf.d/kata.toml", containerd_version=(2, 2),
                                  kata_config=KATA_CONFIG)
    assert not plan.main_changed and plan.main_diff == ""
    data = tomllib.loads(plan.dropin.new_text)
    assert data["version"] == 3 and set(dig(data, V3)) == {"kata"}  # no runc: 2.2 merges by key
    assert_handler(plan.dropin.new_text, V3 + ("kata",))


def test_dropin_added_to_existing_imports():
    main = 'version = 3\nimports = ["/etc/containerd/other.toml"] # keep\n\n[grpc]\n  address = "/run/c.sock"\n'
    plan = plan_containerd_dropin(main, None, main_path="/etc/containerd/config.toml",
                                  dropin_path="/etc/kata/kata.toml", containerd_version=(2, 2))
    assert tomllib.loads(plan.main_new_text)["imports"] == ["/etc/containerd/other.toml", "/etc/kata/kata.toml"]
    assert "# keep" in plan.main_new_text
    no_imports = plan_containerd_dropin('version = 3\n\n[grpc]\n  address = "/run/c.sock"\n', None,
                                        main_path="/etc/containerd/config.toml",
                                        dropin_path="/etc/kata/kata.toml", containerd_version=(2, 2))
    assert no_imports.main_new_text.splitlines()[1] == 'imports = ["/etc/kata/kata.toml"]'
    assert removed_lines(no_imports.main_diff) == []


def test_existing_dropin_from_kata_repo_is_recognised():
    dropin = (CONFIGS / "kata-repo-dropin-v3-kata-qemu.toml").read_text()
    plan = plan_containerd_dropin('version = 3\nimports = ["conf.d/*.toml"]\n', dropin,
                                  main_path="/etc/containerd/config.toml",
                                  dropin_path="/etc/containerd/conf.d/kata-qemu.toml",
                                  containerd_version=(2, 2), handler="kata-qemu",
                                  kata_config="/opt/kata/conf/qemu/configuration-qemu.toml")
    assert plan.dropin.already_configured and not plan.main_changed


def test_imports_cover_relative_and_glob():
    assert imports_cover(("conf.d/*.toml",), "/etc/containerd/config.toml", "/etc/containerd/conf.d/k.toml")
    assert not imports_cover(("conf.d/*.toml",), "/etc/containerd/config.toml", "/etc/containerd/conf.d/x/k.toml")
    assert not imports_cover(("/a/*.conf",), "/etc/containerd/config.toml", "/a/k.toml")

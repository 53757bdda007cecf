"""kataview.hosts parsers against the real corpus, checked against EXPECTED.md.

Answers are LOADED from the fenced YAML blocks of EXPECTED.md (``file:`` keys), never
copied here. Every file of hypervisor-cmdlines/ and ps/ must have a block, and every field
a block gives is asserted (except prose: ``notes``, and how a step is described).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import CORPUS
from kataview.hosts.hypervisor import cmdline_from_kata_log, parse_cmdline
from kataview.hosts.ps import Process, parse_ps
from kataview.hosts.roles import classify

PROSE_KEYS = {"file", "preprocess", "notes", "format"}


def expected_blocks() -> dict[str, dict]:
    text = (CORPUS / "EXPECTED.md").read_text(encoding="utf-8")
    blocks = (yaml.safe_load(body) for body in re.findall(r"```yaml\n(.*?)```", text, re.S))
    return {block["file"]: block for block in blocks if isinstance(block, dict) and "file" in block}


EXPECTED = expected_blocks() if CORPUS.is_dir() else {}


def corpus_files(folder: str) -> list[str]:
    return sorted(f"{folder}/{path.name}" for path in (CORPUS / folder).iterdir())


# --- hypervisor command lines -------------------------------------------------------------


def preprocess(raw: str, step: str) -> tuple[str, bool]:
    """Apply the step EXPECTED.md names; returns (command line, truncated)."""
    if step.startswith("none"):  # includes "none, but note the glued token ..."
        return raw, False
    if "launching" in step:  # a Kata log line: unwrap the Go slice from the logfmt msg
        unwrapped = cmdline_from_kata_log(raw)
        assert unwrapped is not None, "no 'launching ... with: [' message in the log line"
        return unwrapped
    raise AssertionError(f"unknown preprocess step in EXPECTED.md: {step!r}")


@pytest.mark.parametrize("name", corpus_files("hypervisor-cmdlines"))
def test_hypervisor_cmdline_matches_expected(corpus: Path, name: str):
    assert name in EXPECTED, f"EXPECTED.md has no block for {name}"
    expected = EXPECTED[name]
    line, cut = preprocess((corpus / name).read_text(encoding="utf-8"), expected["preprocess"])
    parsed = parse_cmdline(line, truncated=cut)
    for key, want in expected.items():
        if key in PROSE_KEYS:
            continue
        if key == "qmp":  # "unix:fd=3 (explanation)": the value is before the parenthesis
            want = want.split(" (")[0]
        assert getattr(parsed, key) == want, f"{name}: {key}"


def test_hypervisor_argv_list_gives_the_same_answer(corpus: Path):
    """/proc/<pid>/cmdline gives a list; -append is then one element with spaces."""
    name = "hypervisor-cmdlines/kata1.11-centos8-qemu-kvm-virtiofs-initrd.txt"
    text = (corpus / name).read_text(encoding="utf-8")
    words = text.split()
    at = words.index("-append")
    end = words.index("-pidfile")
    argv = [*words[:at + 1], " ".join(words[at + 1:end]), *words[end:]]
    assert parse_cmdline(argv) == parse_cmdline(text)
    assert parse_cmdline("\0".join(argv) + "\0") == parse_cmdline(text)


# --- ps -------------------------------------------------------------------------------------


def check_process(name: str, process: Process, want: dict) -> None:
    role = classify(process)
    for key, value in want.items():
        if key == "pid":
            continue
        where = f"{name} pid {process.pid}: {key}"
        if key == "ppid":
            assert process.ppid == value, where
        elif key == "parent":  # forest formats: the parent shown by the tree art
            assert process.tree_parent == value, where
        elif key == "tty":
            assert process.tty == value, where
        elif key == "binary":
            assert process.argv[0] == value, where
        elif key == "cmd":
            check_cmd(process, value, where)
        elif isinstance(value, str) and value.endswith("(placeholder)"):
            assert getattr(role, key) is None, where
            assert any("placeholder" in note for note in role.notes), where
        else:
            assert getattr(role, key) == value, where


def check_cmd(process: Process, want: str, where: str) -> None:
    """EXPECTED writes commands whole, abbreviated with ' ... ', or as the program name."""
    if " ... " in want:
        head, tail = want.split(" ... ")
        assert process.command.startswith(head) and process.command.endswith(tail), where
    elif " " in want:
        assert process.command == want, where
    else:
        assert want in (process.argv[0], process.argv[0].rsplit("/", 1)[-1]), where


@pytest.mark.parametrize("name", corpus_files("ps"))
def test_ps_matches_expected(corpus: Path, name: str):
    assert name in EXPECTED, f"EXPECTED.md has no block for {name}"
    processes = parse_ps((corpus / name).read_text(encoding="utf-8"))
    by_pid = {process.pid: process for process in processes}
    assert len(by_pid) == len(processes), "a pid was parsed twice"
    for want in EXPECTED[name]["processes"]:
        assert want["pid"] in by_pid, f"{name}: pid {want['pid']} not parsed"
        check_process(name, by_pid[want["pid"]], want)


def test_ps_rows_are_only_processes(corpus: Path):
    """Prompt lines and the 'kata-runtime list' table in between are not processes."""
    name = "ps/docker-kata1.3-containerd-shim-runtime-root.txt"
    processes = parse_ps((corpus / name).read_text(encoding="utf-8"))
    assert [p.pid for p in processes] == [17587, 17795, 17637]


def test_ps_hand_wrapped_line_is_joined(corpus: Path):
    (qemu,) = parse_ps((corpus / "ps/osc-qemu-kiwi-wrapped-line.txt").read_text(encoding="utf-8"))
    assert qemu.argv[-2:] == ("-name", "sandbox-712a4cb4a28dff8655bd92fd6bd5e761173a2b2c23b8b7615a5bbb12ca1b75a3")


def test_ps_lines_cut_at_terminal_width_are_flagged(corpus: Path):
    text = (corpus / "ps/k3s-kata-clh-ps-forest-empty-publish-binary.txt").read_text(encoding="utf-8")
    assert [p.truncated for p in parse_ps(text)] == [True, True, True, False]
    shim = classify(parse_ps(text)[0])
    assert shim.sandbox_id is None and shim.sandbox_id_prefix == "9e7c835d4868398b062d9735e"


def test_ps_full_qemu_line_parses_like_the_cmdline_file(corpus: Path):
    """Same sandbox in ps/ and hypervisor-cmdlines/: the parsed VM must be identical."""
    processes = parse_ps((corpus / "ps/docker-kata1.11-centos8-ps-ef-vsock-shim.txt").read_text())
    qemu = next(p for p in processes if p.pid == 30328)
    file_text = (corpus / "hypervisor-cmdlines/kata1.11-centos8-qemu-kvm-virtiofs-initrd.txt").read_text()
    assert parse_cmdline(qemu.argv) == parse_cmdline(file_text)

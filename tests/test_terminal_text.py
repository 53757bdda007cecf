"""Nothing from the cluster or a node reaches a text sink raw: the sanitiser itself, then
`report` text and stderr, `vm` text and the log file, each with hostile strings in every
field it shows (issue 13, findings 1 and 4)."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import HOSTILE, hostile_text, poison, poison_objects, raw_controls
from kataview.cli.logsetup import error_text, setup_logging
from kataview.cli.report import build_report
from kataview.cli.report_text import print_report, report_console
from kataview.cli.vm import print_detail
from kataview.demo.apiserver import serve_in_thread
from kataview.demo.scenario import classic_objects
from kataview.model.records import ClusterSnapshot
from kataview.model.terminal_text import terminal_safe, terminal_safe_tree
from kataview.model.vm import GuestMetrics, Sandbox, VMDetail
from kataview.sources.base import SourceInfo
from ui_fixtures import classic_snapshot

KATAVIEW = [sys.executable, "-m", "kataview"]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- the sanitiser ----------------------------------------------------------------------

@given(st.text())
def test_no_unsafe_character_survives(text):
    assert raw_controls(terminal_safe(text)) == set()
    assert raw_controls(terminal_safe(text, lines=True), lines=True) == set()
    terminal_safe(text).encode("utf-8")  # lone surrogates are replaced too: printable anywhere


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"])))
def test_ordinary_text_is_returned_unchanged(text):
    assert terminal_safe(text) == text


def test_controls_are_shown_not_dropped():
    assert terminal_safe("\x1b]0;t\x07\x7f") == "␛]0;t␇␡"
    assert terminal_safe("a\u202eb\x9bc") == "a\\u202eb\\u009bc"
    assert terminal_safe("a\tb\nc") == "a␉b␊c"
    assert terminal_safe("a\tb\nc\rd", lines=True) == "a\tb\nc␍d"


def test_printable_text_is_the_same_object():
    name = "nginx-kata-fc-5c4b8d7f96-w5l2g"
    assert terminal_safe(name) is name


# ---- report text ------------------------------------------------------------------------

INFO = SourceInfo(context="ctx" + HOSTILE, server="https://127.0.0.1:6443" + HOSTILE)


def report_text(snapshot: ClusterSnapshot, info: SourceInfo = INFO) -> str:
    console = report_console()
    console.file = io.StringIO()
    console.width = 3000  # nothing folded: a cell reads as one piece
    print_report(build_report(snapshot, info), console)
    return console.file.getvalue()


@FAST
@given(hostile_text)
def test_report_text_has_no_raw_control_from_any_field(text):
    snapshot = poison(classic_snapshot(), text)
    snapshot = ClusterSnapshot(**{**{f: getattr(snapshot, f) for f in snapshot.__slots__},
                                  "unreadable": {"events": "forbidden: " + text}})
    out = report_text(snapshot)
    assert raw_controls(out, lines=True) == set()


def test_report_text_shows_markup_as_text():
    out = report_text(poison(classic_snapshot(), "[/][@click=app.quit]x[/]"))
    assert "containerd://1.7.15[/][@click=app.quit]x[/]" in out


def test_report_tree_keeps_the_shape():
    assert terminal_safe_tree({"a\x1b": ["b\x07", 1, None, ("c",)]}) == {"a␛": ["b␇", 1, None, ["c"]]}


def test_report_cli_with_hostile_objects_exits_0_and_prints_nothing_raw(tmp_path):
    with serve_in_thread(poison_objects(classic_objects(), HOSTILE)) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        done = subprocess.run([*KATAVIEW, "report", "--kubeconfig", str(kubeconfig)], capture_output=True,
                              text=True, timeout=60, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "k8s-worker" in done.stdout and "␛]52;c;" in done.stdout
    assert raw_controls(done.stdout, lines=True) == set() and raw_controls(done.stderr, lines=True) == set()


def _env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_STATE_HOME": str(home / "state")}


# ---- vm text ----------------------------------------------------------------------------

def vm_detail(text: str) -> VMDetail:
    sandbox = Sandbox("a" * 64 + text, "ns" + text, "pod" + text, notes=("note" + text,))
    return VMDetail(node="node" + text, address="10.0.0.1" + text, sandbox=sandbox, kind="qemu" + text, pid=42,
                    binary="/opt/kata/bin/qemu" + text, kernel="/k" + text, image="/i" + text,
                    shared_fs="virtio-fs" + text, machine="q35" + text, qmp="ok" + text,
                    guest=GuestMetrics(socket="/run/s" + text), notes=("cut" + text,),
                    overhead_source="RuntimeClass" + text, guest_error="no" + text)


@FAST
@given(hostile_text)
def test_vm_text_has_no_raw_control_from_any_field(text):
    out = io.StringIO()
    with redirect_stdout(out):
        print_detail(vm_detail(text))
    assert raw_controls(out.getvalue(), lines=True) == set()


# ---- the log file and stderr ------------------------------------------------------------

@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    before, level, hook = list(root.handlers), root.level, sys.excepthook
    yield
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    sys.excepthook = hook


def test_log_file_never_holds_a_raw_control(tmp_path, restore_logging):
    path = setup_logging(interactive=True, path=tmp_path / "kataview.log")
    log = logging.getLogger("kataview.test")
    log.warning("server said %s", HOSTILE)
    log.warning(HOSTILE + "%s")  # a bad format string still goes through
    try:
        raise RuntimeError(HOSTILE)
    except RuntimeError:
        log.exception("failed")
    text = path.read_text(encoding="utf-8")
    assert "␛]52;c;" in text and "Traceback" in text
    assert raw_controls(text, lines=True) == set()


@given(hostile_text)
def test_error_text_is_terminal_safe(text):
    assert raw_controls(error_text(RuntimeError(text)), lines=True) == set()


def test_uncaught_error_of_a_command_is_printed_terminal_safe(tmp_path):
    code = ("import sys; from kataview.cli.logsetup import setup_logging; setup_logging(interactive=False);"
            f"raise RuntimeError({HOSTILE!r})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                          env=_env(tmp_path))
    assert done.returncode == 1 and "RuntimeError" in done.stderr and "␛]0;kvpwned" in done.stderr
    assert raw_controls(done.stderr, lines=True) == set()


def test_wide_pod_lines_are_safe_and_aligned_in_cells():
    from rich.cells import cell_len

    from kataview.cli.report_text import pod_lines

    snapshot = classic_snapshot()
    pods = dict(snapshot.pods)
    first = next(iter(pods))
    pods[first] = poison(pods[first], "日本\u200b" + HOSTILE)
    report = build_report(ClusterSnapshot(**{**{f: getattr(snapshot, f) for f in snapshot.__slots__},
                                             "pods": pods}), INFO)
    lines = pod_lines(report).splitlines()
    assert raw_controls("\n".join(lines), lines=True) == set()
    header, poisoned = lines[0], next(line for line in lines if "coredns" in line)
    # the NAME column starts at the same terminal cell on the poisoned line as in the header
    assert cell_len(poisoned[:poisoned.index("coredns")]) == cell_len(header[:header.index(" NAME ") + 1])

"""Every entry point: the `kataview` command line (entry), the TUI runner (tui), `report` and
its text (report, report_text, text_table), `vm`, `setup containerd` / `setup crio`, and the log
file (logsetup). Nothing below cli/ imports it.

`main` is the console script (`kataview.cli:main`); importing it loads the argument parser
only, so `kataview setup containerd --help` stays fast and never loads Textual.
"""

from kataview.cli.entry import main

__all__ = ["main"]

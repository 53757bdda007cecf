"""`run_tui`: build the source (live cluster or embedded demo), run the App, return an exit code."""

from __future__ import annotations

from kataview.cli.logsetup import print_error
from kataview.model.exit_codes import Exit
from kataview.sources.settings import Settings, SettingsError


def run_tui(settings: Settings, demo_size: tuple[int | None, int | None] | None = None) -> int:
    from kataview.sources.live import build_source  # demo or live
    from kataview.ui.app import make_app

    try:
        source = build_source(settings, demo_size)
    except SettingsError:
        raise  # bad input: the CLI reports it (Exit.CONFIG)
    except (OSError, ValueError) as error:
        print_error("kataview", error)
        return Exit.FAILED
    from kataview.cli.logsetup import setup_logging
    from kataview.sources.logged import LoggedSource

    setup_logging(interactive=True)  # to the state directory's log file, never the terminal
    app = make_app(settings, LoggedSource(source))
    app.run()
    # Skip the interpreter's last full collection over a large heap (~1 s at 150,000 pods
    # between the screen going away and the shell prompt): frozen objects are not scanned.
    import gc

    gc.freeze()
    return app.return_code or Exit.OK

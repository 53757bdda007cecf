"""The command line: build Settings, then run the TUI or one non-interactive command.

Exit codes: one table, kataview.model.exit_codes (each --help lists its command's codes).
Bad input is reported in one line without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from kataview import __version__
from kataview.cli.logsetup import print_error
from kataview.kube.errors import KubeConfigError
from kataview.model.exit_codes import Exit, epilog
from kataview.sources.settings import Settings, SettingsError, load_config_file, remembered_theme, settings_from_config

# --fail-on takes the severity words of the report and of the TUI's SEV column
FAIL_ON_WORDS = {"error": "error", "warning": "warning", "warn": "warning", "info": "info"}
RAW = argparse.RawDescriptionHelpFormatter  # keeps the exit-code table's lines
OUTPUTS = ("json", "yaml", "wide")  # kubectl's -o words that fit a report


def fail_on_word(text: str) -> str:
    word = FAIL_ON_WORDS.get(text.lower())
    if word is None:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(FAIL_ON_WORDS)})")
    return word


def add_connection_flags(parser: argparse.ArgumentParser, *, subcommand: bool = False) -> None:
    """The kubectl-like flags, accepted before and after the subcommand. On a subcommand their
    defaults are suppressed, so `kataview --context C report` keeps C."""
    if subcommand:
        parser.set_defaults()
        parser.argument_default = argparse.SUPPRESS
    group = parser.add_argument_group("connection (as kubectl)")
    group.add_argument("--kubeconfig", metavar="F", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    group.add_argument("--context", metavar="C", help="kubeconfig context to use (default: current-context)")
    scope = group.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", metavar="NS", help="only this namespace")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (the default)")
    group.add_argument("--request-timeout", metavar="S", type=float,
                       help="seconds to wait for the API server to accept a connection (default 10)")
    group.add_argument("--read-only", action="store_true",
                       help="refuse every change to the cluster and nodes (enforced in the transports)")
    group.add_argument("--config", metavar="F", help="kataview config file (default $XDG_CONFIG_HOME/kataview/config.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kataview",
        description="A terminal dashboard for clusters that run runc, Kata Containers and gVisor side by side.",
        epilog=epilog(), formatter_class=RAW,
    )
    parser.add_argument("--version", action="version", version=f"kataview {__version__}")
    add_connection_flags(parser)
    parser.set_defaults(request_timeout=None)
    parser.add_argument("--ssh-config", metavar="F", help="OpenSSH client config for reaching nodes (default ~/.ssh/config)")
    parser.add_argument("--demo", action="store_true", help="run on the embedded demo cluster (no cluster, no network)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_report_parser(commands)

    vm = commands.add_parser("vm", help="VM detail of one pod, over SSH", epilog=epilog("vm"), formatter_class=RAW)
    add_connection_flags(vm, subcommand=True)
    vm.add_argument("pod", metavar="[NAMESPACE/]POD",
                    help="the pod as NAMESPACE/POD, or its name alone with -n NAMESPACE (as kubectl)")
    vm.add_argument("--json", action="store_true", default=False, help="print JSON (documented in the README)")
    vm.add_argument("--ssh-config", metavar="F", help="OpenSSH client config for reaching nodes (default ~/.ssh/config)")
    vm.add_argument("--demo", action="store_true",
                    help="a pod of the embedded demo cluster, read from its SSH node (no cluster, no network)")

    setup = commands.add_parser("setup", help="turn a containerd or CRI-O node into a Kata node",
                                add_help=False)
    setup.add_argument("rest", nargs=argparse.REMAINDER)

    add_demo_parser(commands)
    return parser


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser("report", help="one-shot inventory and findings", epilog=epilog("report"),
                                 formatter_class=RAW)
    add_connection_flags(report, subcommand=True)
    output = report.add_mutually_exclusive_group()
    output.add_argument("-o", "--output", choices=OUTPUTS, default=None,
                        help="json or yaml: the whole report (shape in the README); wide: the tables "
                             "and one line per pod")
    output.add_argument("--json", action="store_const", const="json", dest="output",
                        help="the same as -o json")
    report.add_argument("-l", "--selector", metavar="SELECTOR", default=None,
                        help="only pods with these labels (as kubectl: app=web,tier!=db); the server filters")
    report.add_argument("--field-selector", metavar="SELECTOR", default=None,
                        help="only pods whose fields match (spec.nodeName=N, status.phase=Running); "
                             "the server filters")
    report.add_argument("--demo", action="store_true", help="report on the embedded demo cluster")
    report.add_argument("--fail-on", type=fail_on_word, default=None, metavar="{error,warning,warn,info}",
                        help="exit 1 when a finding of this severity or worse exists (for cron and CI); "
                             "with 'warning' an unreadable resource counts too")


SERVE_ONLY = {"port": 0, "kubeconfig_out": None, "plain_http": False}  # option -> its default


def add_demo_parser(commands: Any) -> None:
    """`kataview demo`: the dashboard on the embedded cluster, or with --serve its API for other
    tools. The serve options come from kataview.demo.serve, so this help lists all of them."""
    from kataview.demo.serve import serve_parser

    demo = commands.add_parser("demo", help="the embedded demo cluster", parents=[serve_parser(add_help=False)],
                               description="Run the dashboard on the embedded demo cluster, or with --serve "
                                           "serve its Kubernetes API on loopback for kubectl and kataview.",
                               epilog="--port, --kubeconfig-out and --plain-http apply with --serve; "
                                      "--read-only to the dashboard.\n\n" + epilog("demo"), formatter_class=RAW)
    demo.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                      help="the dashboard refuses every change (as kataview --read-only)")


def build_settings(args: argparse.Namespace) -> Settings:
    from pathlib import Path

    config_path = Path(args.config) if getattr(args, "config", None) else None
    path, data = load_config_file(config_path)
    values = settings_from_config(data, path)
    values["theme"] = remembered_theme() or values.get("theme")
    if args.request_timeout is not None:
        values["connect_timeout"] = args.request_timeout
    return Settings(
        kubeconfig=args.kubeconfig,
        context=args.context,
        namespace=args.namespace,
        all_namespaces=args.namespace is None,
        read_only=args.read_only or bool(values.pop("read_only", False)),
        ssh_config=getattr(args, "ssh_config", None),
        demo=bool(getattr(args, "demo", False)),
        label_selector=getattr(args, "selector", None),
        field_selector=getattr(args, "field_selector", None),
        no_color="NO_COLOR" in os.environ and os.environ["NO_COLOR"] != "",
        **values,
    )


SETUP_HELP = """\
usage: kataview setup containerd --config F [...]   patch a local containerd config (--help: its options)
       kataview setup crio --config-dir D [...]     add a CRI-O drop-in (--help: its options)
       kataview setup [--kubeconfig F] [--context C] [--read-only] [--ssh-config F]
                                                    the guided setup screen; --read-only: plan only

kataview --read-only setup containerd|crio refuses to write (exit 9) unless --dry-run is given.

"""


def run_local_setup(target: str, argv: list[str], read_only: bool) -> int:
    """`setup containerd|crio`: local files. --read-only allows only --dry-run and --help."""
    if read_only and not {"--dry-run", "-h", "--help"} & set(argv):
        print(f"kataview setup {target}: refused by --read-only: it would write the config; "
              "use --dry-run to see the change", file=sys.stderr)
        return Exit.READ_ONLY
    if target == "containerd":
        from kataview.cli.setup_containerd import main as containerd_main

        return containerd_main(argv)
    from kataview.cli.setup_crio import main as crio_main

    return crio_main(argv)


def run_setup(rest: list[str], global_flags: list[str] = ()) -> int:
    if rest[:1] in (["containerd"], ["crio"]):
        return run_local_setup(rest[0], rest[1:], "--read-only" in global_flags)
    if rest[:1] in (["-h"], ["--help"]):
        print(SETUP_HELP + epilog("setup"))
        return Exit.OK
    if rest and not rest[0].startswith("-"):
        print(f"kataview setup: unknown target {rest[0]!r}; use 'containerd' or 'crio'", file=sys.stderr)
        return Exit.USAGE
    from kataview.sources.live import build_source
    from kataview.ui.app import make_app

    # the guided screen takes the connection flags before and after `setup`
    settings = build_settings(build_parser().parse_args([*global_flags, *rest]))
    try:
        source = build_source(settings, None)
    except (OSError, ValueError) as error:
        if isinstance(error, SettingsError):
            raise
        print_error("kataview setup", error)
        return Exit.FAILED
    app = make_app(settings, source, start="setup")
    app.run()
    return app.return_code or Exit.OK


def run_demo(args: argparse.Namespace) -> int:
    """The options were parsed (and checked) by the `demo` subparser; --serve gets them again,
    as the argument list after `demo`, from its own parser."""
    if args.serve:
        from kataview.demo.serve import serve_main

        if "--read-only" in args.rest:
            print("kataview demo: --read-only applies to the dashboard, not to --serve", file=sys.stderr)
            return Exit.USAGE
        return serve_main(args.rest)
    given = [name for name, default in SERVE_ONLY.items() if getattr(args, name) != default]
    if given:
        print(f"kataview demo: --{given[0].replace('_', '-')} needs --serve", file=sys.stderr)
        return Exit.USAGE
    from kataview.cli.tui import run_tui

    return run_tui(Settings(demo=True, read_only=args.read_only, theme=remembered_theme()),
                   demo_size=(args.nodes, args.pods))


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "setup":
        return run_setup(args.rest, args.global_flags)
    if args.command == "demo":
        return run_demo(args)
    settings = build_settings(args)
    if args.command == "report":
        from kataview.cli.report import run_report

        return run_report(settings, output=args.output, fail_on=args.fail_on)
    if args.command == "vm":
        from kataview.cli.logsetup import setup_logging
        from kataview.cli.vm import run_vm

        setup_logging(interactive=False)
        return run_vm(settings, args.pod, as_json=args.json)
    from kataview.cli.tui import run_tui

    return run_tui(settings)


VALUE_FLAGS = {"--kubeconfig", "--context", "-n", "--namespace", "--request-timeout", "--config", "--ssh-config"}


def subcommand_index(argv: list[str], command: str) -> int:
    """Where the subcommand stands, skipping the values of global flags (`--context demo`)."""
    skip = False
    for index, token in enumerate(argv):
        if skip:
            skip = False
        elif token in VALUE_FLAGS:
            skip = True
        elif token == command:
            return index
    raise ValueError(command)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # `setup` hands its own options on to its own parsers, `demo --serve` to serve's.
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extras = parser.parse_known_args(argv)
    if args.command == "setup" or (args.command == "demo" and not extras):
        index = subcommand_index(argv, args.command)
        args.global_flags, args.rest = argv[:index], argv[index + 1:]
    elif extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        return dispatch(args)
    except (SettingsError, KubeConfigError) as error:
        print_error("kataview", error)
        return Exit.CONFIG
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except BrokenPipeError:
        # `kataview report | head`: the reader left; say nothing more, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.PIPE_CLOSED


if __name__ == "__main__":
    sys.exit(main())

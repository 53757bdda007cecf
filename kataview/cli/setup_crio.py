"""`kataview setup crio`: add a Kata runtime handler to CRI-O with one drop-in file.

Exit codes as `kataview setup containerd`: 0 done / already configured / dry run; 10 the write
failed (nothing changed); 4 refused (bad input, nothing written); 3 the handler exists with other
settings (use --force). Backups go to `<config-dir>.kataview-backup/`, never into the config
dir itself: CRI-O reads every file there, a `.bak` included.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, TextIO

from kataview.model.exit_codes import Exit, epilog
from kataview.setup.config_write import read_config, run_locked, warn_replace, write_config
from kataview.setup.crio import DEFAULT_SHIM, CrioPlan, plan_crio_dropin
from kataview.setup.toml_edit import ConfigError

PROG = "kataview setup crio"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Add a Kata Containers runtime handler "
                                     "to CRI-O as one drop-in file in crio.conf.d.",
                                     epilog=epilog("setup"), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config-dir", required=True, metavar="D", help="CRI-O drop-in directory "
                        "(usually /etc/crio/crio.conf.d)")
    parser.add_argument("--main-config", metavar="F", help="CRI-O main file (default: crio.conf "
                        "beside the drop-in directory, when it exists)")
    parser.add_argument("--handler", default="kata", help="runtime handler name (RuntimeClass .handler)")
    parser.add_argument("--runtime-path", default=DEFAULT_SHIM, metavar="P", help="the Kata shim")
    parser.add_argument("--runtime-type", default="vm", help="CRI-O runtime_type (vm for shim v2)")
    parser.add_argument("--kata-config", metavar="PATH", help="Kata configuration.toml (runtime_config_path)")
    parser.add_argument("--force", action="store_true", help="update the handler if it has other settings")
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    return parser


def backup_dir(config_dir: Path) -> Path:
    return config_dir.parent / f"{config_dir.name}.kataview-backup"


def read_dropins(config_dir: Path) -> list[tuple[str, str]]:
    """(path, text) of every regular file in the directory, as CRI-O reads them."""
    if not config_dir.is_dir():
        raise ConfigError("not a directory", "point --config-dir at CRI-O's drop-in directory "
                          "(usually /etc/crio/crio.conf.d); create it if it does not exist",
                          source=str(config_dir))
    files = sorted(p for p in config_dir.iterdir() if p.is_file())
    return [(str(p), read_config(p) or "") for p in files]


def main_config_of(args: argparse.Namespace) -> tuple[str, str] | None:
    path = Path(args.main_config) if args.main_config else Path(args.config_dir).parent / "crio.conf"
    text = read_config(path, must_exist=bool(args.main_config))
    return (str(path), text) if text is not None else None


def plan_from_disk(args: argparse.Namespace) -> CrioPlan:
    return plan_crio_dropin(read_dropins(Path(args.config_dir)), main=main_config_of(args),
                            handler=args.handler, runtime_path=args.runtime_path,
                            runtime_type=args.runtime_type, kata_config=args.kata_config,
                            force=args.force)


def _report_conflicts(plan: CrioPlan, err: TextIO) -> None:
    where = ", ".join(plan.defined_in) or plan.dropin
    print(f"handler {plan.handler!r} is already declared ({where}) with other settings:", file=err)
    for conflict in plan.conflicts:
        print(f"  {conflict.describe()}", file=err)
    print("nothing was written; run again with --force to set these keys in kataview's drop-in",
          file=err)


def run(args: argparse.Namespace, out: TextIO, err: TextIO,
        before_rename: Callable[[Path], None] | None) -> int:
    plan = plan_from_disk(args)
    for finding in plan.warnings:
        print(f"{finding.severity}: {finding.message}", file=err)
    if plan.already_configured:
        where = ", ".join(plan.defined_in + ((plan.dropin,) if plan.text else ()))
        print(f"already configured: handler {args.handler!r} ({where}) has the wanted settings; "
              "nothing to do", file=out)
        return Exit.OK
    if plan.needs_force:
        _report_conflicts(plan, err)
        return Exit.CONFLICT
    target = Path(args.config_dir) / plan.dropin
    print(plan.diff, file=out, end="")
    if args.dry_run:
        warn_replace(target, err)
        print("dry run: nothing was written", file=out)
        return Exit.OK
    write_config(target, plan.new_text, out, err, force=args.force,
                 backup_dir=backup_dir(Path(args.config_dir)), before_rename=before_rename)
    print(f"next: restart CRI-O (e.g. `systemctl restart crio`) and create a RuntimeClass with "
          f"handler: {args.handler}", file=out)
    return Exit.OK


def main(argv: list[str], *, out: TextIO | None = None, err: TextIO | None = None,
         before_rename: Callable[[Path], None] | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    return run_locked(PROG, args.config_dir, err, lambda: run(args, out, err, before_rename), dry_run=args.dry_run)

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))

"""`kataview setup containerd`: add a Kata runtime handler to a local containerd config.

Exit codes (kataview.model.exit_codes): 0 done / already configured / dry run; 10 the write
failed (original intact; also: another run kept the lock for LOCK_TIMEOUT); 4 refused (bad
input, a file over 256 KiB, a hard-linked or read-only target without --force, an --output
symlink; nothing written); 3 the handler exists with other settings (use --force); 2 a bad
command line. Reading, planning and writing go through kataview.setup.config_write, shared
with `setup crio`.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Callable, TextIO

from kataview.model.exit_codes import Exit, epilog
from kataview.setup.containerd.dropin import DropinPlan, plan_containerd_dropin
from kataview.setup.containerd.patch import PatchPlan, plan_containerd_patch
from kataview.setup.containerd.schema import DEFAULT_RUNTIME_TYPE, handler_name_problem, version_mismatch
from kataview.setup.containerd.version import containerd_check, containerd_version_origin, detect_containerd_version
from kataview.setup.config_write import (check_output_target, check_replace, read_config, run_locked,
                                         warn_replace, write_config)
from kataview.setup.toml_edit import ConfigError

PROG = "kataview setup containerd"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Add a Kata Containers runtime handler to a "
                                     "containerd config, keeping everything else byte for byte.",
                                     epilog=epilog("setup"), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, metavar="F", help="containerd config file to patch")
    parser.add_argument("--handler", default="kata", help="runtime handler name (RuntimeClass .handler)")
    parser.add_argument("--runtime-type", default=DEFAULT_RUNTIME_TYPE, help="containerd shim runtime type")
    parser.add_argument("--kata-config", metavar="PATH", help="Kata configuration.toml (options.ConfigPath)")
    parser.add_argument("--drop-in", metavar="F", help="write the handler to this file and import it")
    parser.add_argument("--containerd-version", metavar="X.Y", help="containerd version (default: ask containerd)")
    parser.add_argument("--force", action="store_true", help="update the handler if it has other settings")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    mode.add_argument("--output", metavar="F", help="write the result to F, leave --config untouched")
    return parser


def _print_warnings(plan: PatchPlan, where: str, out: TextIO) -> None:
    for finding in plan.warnings:
        line = f":{finding.line}" if finding.line else ""
        print(f"{finding.severity}: {where}{line}: {finding.message}", file=out)


def run_main_file(args: argparse.Namespace, out: TextIO, err: TextIO,
                  before_rename: Callable[[Path], None] | None) -> int:
    config = Path(args.config)
    if args.output:
        check_output_target(Path(args.output))
    text = read_config(config)
    try:
        plan = plan_containerd_patch(text, handler=args.handler, runtime_type=args.runtime_type,
                                     kata_config=args.kata_config, force=args.force, name=config.name)
    except ConfigError as exc:
        raise exc.located(str(config)) from None
    _print_warnings(plan, str(config), err)
    version, origin = containerd_version_origin(args.containerd_version)
    mismatch = version_mismatch(plan.info.version, version, origin, args.handler)
    if mismatch is not None:
        print(f"{mismatch.severity}: {config}: {mismatch.message}", file=err)
    if plan.already_configured:
        print(f"already configured: handler {args.handler!r} in {config} has the wanted settings; "
              "nothing to do", file=out)
        return Exit.OK
    if plan.needs_force:
        print(f"{config}: handler {args.handler!r} exists with other settings:", file=err)
        for conflict in plan.conflicts:
            print(f"  {conflict.describe()}", file=err)
        print("nothing was written; run again with --force to change these keys (other keys of the "
              "handler are kept)", file=err)
        return Exit.CONFLICT
    for change in plan.changes:
        print(f"plan: {change}", file=out)
    print(plan.diff, file=out, end="")
    target = Path(args.output) if args.output else config
    if args.dry_run:
        warn_replace(target, err, follow_symlinks=not args.output)
        print("dry run: nothing was written", file=out)
        return Exit.OK
    check = containerd_check(config, args.handler, version) if plan.info.version <= 2 else None

    def before(tmp: Path) -> None:
        if check is not None:
            check(tmp)
        if before_rename is not None:
            before_rename(tmp)
    write_config(target, plan.new_text, out, err, force=args.force, follow_symlinks=not args.output,
                 before_rename=before)
    print("next: restart containerd (e.g. `systemctl restart containerd`) and create a RuntimeClass "
          f"with handler: {args.handler}", file=out)
    return Exit.OK


def run_dropin(args: argparse.Namespace, out: TextIO, err: TextIO,
               before_rename: Callable[[Path], None] | None) -> int:
    version, source = detect_containerd_version(args.containerd_version)
    print(source, file=err)
    config, dropin_path = Path(args.config), Path(args.drop_in)
    main_text = read_config(config)
    plan: DropinPlan = plan_containerd_dropin(
        main_text, read_config(dropin_path, must_exist=False), main_path=str(config),
        dropin_path=str(dropin_path), containerd_version=version, handler=args.handler,
        runtime_type=args.runtime_type, kata_config=args.kata_config, force=args.force)
    _print_warnings(plan.dropin, str(dropin_path), err)
    if plan.dropin.needs_force:
        print(f"{dropin_path}: handler {args.handler!r} exists with other settings:", file=err)
        for conflict in plan.dropin.conflicts:
            print(f"  {conflict.describe()}", file=err)
        print("nothing was written; run again with --force", file=err)
        return Exit.CONFLICT
    if plan.dropin.already_configured and not plan.main_changed:
        print(f"already configured: handler {args.handler!r} in {dropin_path}; nothing to do", file=out)
        return Exit.OK
    for note in plan.notes:
        print(f"plan: {note}", file=out)
    print(plan.dropin.diff + plan.main_diff, file=out, end="")
    targets = ([dropin_path] if plan.dropin.changed or plan.dropin.text == "" else []) + (
        [config] if plan.main_changed else [])
    if args.dry_run:
        for target in targets:
            warn_replace(target, err)
        print("dry run: nothing was written", file=out)
        return Exit.OK
    if args.output:
        raise ConfigError("--output cannot be combined with --drop-in (two files change)",
                          "use --dry-run to preview, or drop --output", source="--output")
    for target in targets:  # refuse before writing either file
        check_replace(target, io.StringIO(), force=args.force)
    texts = {dropin_path: plan.dropin.new_text, config: plan.main_new_text}
    for target in targets:
        write_config(target, texts[target], out, err, force=args.force, before_rename=before_rename)
    print("next: restart containerd and create a RuntimeClass with handler: " + args.handler, file=out)
    return Exit.OK


def main(argv: list[str], *, out: TextIO | None = None, err: TextIO | None = None,
         before_rename: Callable[[Path], None] | None = None) -> int:
    """Run the command; `before_rename` is a test hook called with each temp file before rename."""
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)

    def check_handler() -> None:
        problem = handler_name_problem(args.handler)
        if problem:
            raise ConfigError(f"{problem}; Kubernetes RuntimeClass handlers must be DNS labels",
                              "choose a name such as 'kata' or 'kata-qemu'", source="--handler")

    def run() -> int:
        if args.drop_in:
            return run_dropin(args, out, err, before_rename)
        return run_main_file(args, out, err, before_rename)
    return run_locked(PROG, args.config, err, run, dry_run=args.dry_run, check=check_handler)

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))

"""Nothing below kataview/ui imports textual: checked on the source and on a live interpreter."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kataview"


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_textual_import_outside_ui():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "ui":
            continue
        if any(name == "textual" or name.startswith("textual.") for name in imported_modules(path)):
            offenders.append(str(relative))
    assert offenders == [], f"textual imported outside kataview/ui: {offenders}"


def test_model_is_stdlib_only():
    allowed_roots = set(sys.stdlib_module_names) | {"kataview"}
    for path in (PACKAGE / "model").rglob("*.py"):
        for name in imported_modules(path):
            root = name.split(".")[0]
            assert root in allowed_roots, f"{path.name} imports {name}"
            if root == "kataview":
                assert name.startswith("kataview.model"), f"{path.name} imports {name}"


LAYER_MAY_IMPORT = {
    "model": {"model"},
    "kube": {"model", "kube"},
    "hosts": {"model", "hosts"},
    "demo": {"model", "demo"},
    "setup": {"model", "kube", "hosts", "setup"},
}


def test_layers_import_only_layers_above():
    for layer, allowed in LAYER_MAY_IMPORT.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in imported_modules(path):
                parts = name.split(".")
                if parts[0] == "kataview" and len(parts) > 1:
                    assert parts[1] in allowed, f"kataview/{layer}/{path.name} imports {name}"


def test_non_interactive_commands_do_not_load_textual():
    code = (
        "import sys, kataview.cli, kataview.model.records, kataview.kube, kataview.demo, kataview.settings;"
        "print('textual' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"

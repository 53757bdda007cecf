"""kataview/model is stdlib only (the layer map in tests/test_import_hygiene.py): every import in it is the standard library
or kataview.model itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODEL = Path(__file__).resolve().parents[1] / "kataview" / "model"


def test_model_imports_only_stdlib() -> None:
    offenders = []
    for path in sorted(MODEL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside the package
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if name.startswith("kataview.model") or top in sys.stdlib_module_names or top == "__future__":
                    continue
                offenders.append(f"{path.name}: {name}")
    assert offenders == []

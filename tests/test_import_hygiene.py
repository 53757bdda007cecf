"""The import graph of kataview, read from the source with ast: every import counts, at module
level or in a function, under TYPE_CHECKING or not, absolute or relative.

It has no cycle between modules, takes no `_private` name from another module, and keeps the
layer map; nothing below kataview/ui imports textual (checked on the source and on a live
interpreter); tests reach kataview only through public names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kataview"
TESTS = ROOT / "tests"


@dataclass
class Imports:
    """What one file imports: module names, and the names it takes from kataview modules."""

    modules: set[str] = field(default_factory=set)  # every module named, kataview or not
    taken: list[tuple[str, str]] = field(default_factory=list)  # (kataview module, name)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> kataview module it binds
    reached: list[tuple[str, str]] = field(default_factory=list)  # (module, _name) read as alias._name


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def kataview_modules() -> frozenset[str]:
    return frozenset(module_name(path) for path in PACKAGE.rglob("*.py"))


def resolve_from(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module an ImportFrom names (relative ones resolved against the importer)."""
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def read_imports(path: Path) -> Imports:
    found = Imports()
    importer = module_name(path) if path.is_relative_to(PACKAGE) else ""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.modules.add(alias.name)
                if alias.asname and alias.name in kataview_modules():
                    found.aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            target = resolve_from(node, importer, path.name == "__init__.py")
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in kataview_modules():
                    found.modules.add(submodule)
                    found.aliases[alias.asname or alias.name] = submodule
                else:
                    found.modules.add(target)
                    if target in kataview_modules():
                        found.taken.append((target, alias.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in found.aliases:
            if is_private(node.attr):
                found.reached.append((found.aliases[node.value.id], node.attr))
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


@cache
def graph() -> dict[str, set[str]]:
    """kataview module -> the kataview modules it imports."""
    edges = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        edges[name] = {m for m in read_imports(path).modules if m in kataview_modules() and m != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycles_are_found():
    """The cycle finder itself, on a made-up graph (a loop of three, a self-contained pair)."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d", "a"}, "f": set()}
    assert sorted(cycles(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_function_level_imports_are_read():
    assert graph()["kataview.demo.apiserver"] >= {"kataview.demo.watch", "kataview.demo.store"}
    assert "kataview.kube.fields" in graph()["kataview.kube.pod_records"]
    # function-level: the CLI imports the TUI only when it runs it
    assert "kataview.ui.app" in graph()["kataview.cli.tui"]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_no_private_names_across_modules():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        imports = read_imports(path)
        offenders += [f"{module_name(path)}: {module}.{name}" for module, name in imports.taken + imports.reached
                      if is_private(name)]
    assert offenders == []


def test_tests_use_public_names_only():
    offenders = []
    for path in TESTS.rglob("*.py"):
        imports = read_imports(path)
        offenders += [f"tests/{path.relative_to(TESTS)}: {module}.{name}"
                      for module, name in imports.taken + imports.reached if is_private(name)]
    assert offenders == []


def test_no_textual_import_outside_ui():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "ui":
            continue
        if any(name == "textual" or name.startswith("textual.") for name in read_imports(path).modules):
            offenders.append(str(relative))
    assert offenders == [], f"textual imported outside kataview/ui: {offenders}"


def test_model_is_stdlib_only():
    allowed_roots = set(sys.stdlib_module_names) | {"kataview"}
    for path in (PACKAGE / "model").rglob("*.py"):
        for name in read_imports(path).modules:
            root = name.split(".")[0]
            assert root in allowed_roots, f"{path.name} imports {name}"
            if root == "kataview":
                assert name.startswith("kataview.model"), f"{path.name} imports {name}"


# the model's analysis, bottom up, then the view built from it: each file imports only those
# before it (docs/architecture.md says why)
MODEL_STAIRCASE = ("records", "runtime", "scheduling", "events", "node_facts", "pod_pass", "findings", "analysis",
                   "object_rows", "cluster_view")


def test_model_analysis_is_a_staircase():
    offenders = []
    for position, name in enumerate(MODEL_STAIRCASE):
        below = {f"kataview.model.{lower}" for lower in MODEL_STAIRCASE[:position]}
        steps = {f"kataview.model.{step}" for step in MODEL_STAIRCASE}
        for imported in graph()[f"kataview.model.{name}"] & steps:
            if imported not in below:
                offenders.append(f"model.{name} imports {imported}")
    assert offenders == []


LAYER_MAY_IMPORT = {
    "model": {"model"},
    "kube": {"model", "kube"},
    "hosts": {"model", "hosts"},
    "demo": {"model", "demo"},
    "setup": {"model", "kube", "hosts", "setup"},
    "sources": {"model", "kube", "hosts", "demo", "sources"},
    # the UI reaches the cluster and the demo only through sources/ (kube/ and demo/ are not here)
    "ui": {"model", "hosts", "setup", "sources", "ui"},
    "cli": {"model", "kube", "hosts", "demo", "setup", "sources", "ui", "cli"},
}
# `from kataview import __version__`: the package root itself, for the CLI's --version
MAY_IMPORT_PACKAGE_ROOT = {"cli"}


def test_layers_import_only_layers_above():
    offenders = []
    for layer, allowed in LAYER_MAY_IMPORT.items():
        for path in (PACKAGE / layer).rglob("*.py"):
            for name in read_imports(path).modules:
                parts = name.split(".")
                if parts[0] != "kataview" or (len(parts) == 1 and layer in MAY_IMPORT_PACKAGE_ROOT):
                    continue
                if len(parts) == 1 or parts[1] not in allowed:
                    offenders.append(f"{module_name(path)} imports {name}")
    assert offenders == []


def test_non_interactive_commands_do_not_load_textual():
    code = (
        "import sys, kataview.cli, kataview.model.records, kataview.kube, kataview.demo, kataview.sources.settings;"
        "print('textual' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_no_loose_modules_at_the_top():
    """Every module lives in its layer's folder; the package root holds only its face."""
    loose = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"} == set(
        LAYER_MAY_IMPORT)


def test_widgets_only_render():
    """A widget does no I/O: nothing in ui/widgets awaits (gathering is the screens' workers',
    over hosts/ and sources/)."""
    offenders = []
    for path in (PACKAGE / "ui" / "widgets").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_model_tests_do_not_import_the_ui():
    offenders = [f"tests/{path.name} imports {name}" for path in TESTS.glob("test_model_*.py")
                 for name in read_imports(path).modules if name.split(".")[:2] == ["kataview", "ui"]]
    assert offenders == []


ROW_TYPES = frozenset({"PodRow", "PodGroup", "NodeRow", "RuntimeClassRow", "FindingRow", "ClusterView"})


def test_rows_are_built_in_the_model():
    """The pod walk of docs/architecture.md: every pane's rows are pure data, built in
    model/cluster_view and model/object_rows; the UI makes none of them and asks for a view
    in one place (the app's build worker)."""
    assert not (PACKAGE / "ui" / "cluster_view.py").exists()  # no second name for the model's view
    made, asked = [], []
    for path in (PACKAGE / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if name in ROW_TYPES:
                    made.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {name}")
        if ("kataview.model.cluster_view", "build_view") in read_imports(path).taken:
            asked.append(module_name(path))
    assert made == []
    assert asked == ["kataview.ui.app"]


def test_pod_walk_in_the_docs_is_real_and_one_way():
    """docs/architecture.md's walk 1 names modules that exist, once each, as many as it says;
    after kube/ the value goes to sources/, then the app hands it to the model, and from there
    it only climbs into the UI (no step back to a lower layer)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    walk = text[text.index("## Walk 1"):text.index("## Walk 2")]
    listed = walk[walk.index("Modules crossed, in order:"):]
    listed = listed[:listed.index("\n\n")]
    modules = listed.split("`")[1::2]
    assert all((PACKAGE / module).is_file() for module in modules), modules
    assert len(set(modules)) == len(modules)
    stated = int(walk.split("**")[1].split()[0])
    assert stated == len(modules) <= 18
    layers = [module.split("/")[0] for module in modules]
    runs = [layer for index, layer in enumerate(layers) if index == 0 or layers[index - 1] != layer]
    assert runs[runs.index("sources"):] == ["sources", "ui", "model", "ui"]
    door = layers.index("model", layers.index("ui"))
    assert modules[door - 1] == "ui/app.py"

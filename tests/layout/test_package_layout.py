"""The package boundaries (DESIGN.md "Shape"), checked on the source by walking every import.

Every ``import`` and ``from ... import`` counts, wherever it stands: at module level, inside a
function, under ``if TYPE_CHECKING`` (so an import hidden in a function cannot hide a cycle), and
so does ``importlib.import_module("literal")``. The rules:

* the shared core (``otel_feedback_core``) imports the standard library only;
* the SDK (``otel_feedback``) never imports the collector (``otel_feedback_collector``);
* the collector imports the core and public SDK modules, never a private one (``otel_feedback._x``);
* the stand-in model server (``otel_feedback_testing``) imports neither SDK nor collector;
* nothing imports the old top-level name ``collector``;
* the module import graph has no cycle.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Importable package name -> repository folder (pyproject.toml's package-dir).
PACKAGE_FOLDERS = {
    "otel_feedback": "otel_feedback",
    "otel_feedback_core": "otel_feedback_core",
    "otel_feedback_testing": "otel_feedback_testing",
    "otel_feedback_collector": "collector",
}
# Folders of other Python code that must follow the naming rules too.
OTHER_FOLDERS = ("tests", "examples", "bench", "scripts")


@dataclass(frozen=True)
class ImportEdge:
    source: str  # the importing module
    target: str  # the imported module (or the package a name was taken from)
    line: int


def module_files() -> dict[str, Path]:
    """Every module of our packages by its importable name."""
    modules: dict[str, Path] = {}
    for package, folder in PACKAGE_FOLDERS.items():
        root = REPO / folder
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def imports_of(name: str, path: Path, known: set[str]) -> list[ImportEdge]:
    """The imports in one file, relative ones resolved, ``from m import sub`` as ``m.sub``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    edges: list[ImportEdge] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges.extend(ImportEdge(name, alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                edges.append(ImportEdge(name, candidate if candidate in known else base, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            edges.append(ImportEdge(name, node.args[0].value, node.lineno))
    return edges


@pytest.fixture(scope="module")
def graph() -> dict[str, list[ImportEdge]]:
    files = module_files()
    known = set(files)
    return {name: imports_of(name, path, known) for name, path in files.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


def _describe(edges: list[ImportEdge], files: dict[str, Path]) -> str:
    return "\n".join(
        f"  {files[edge.source].relative_to(REPO)}:{edge.line}: {edge.source} imports {edge.target}" for edge in edges
    )


def test_the_core_imports_the_standard_library_only(graph) -> None:
    bad = [
        edge
        for source, edges in graph.items()
        if _top(source) == "otel_feedback_core"
        for edge in edges
        if _top(edge.target) not in sys.stdlib_module_names and _top(edge.target) != "otel_feedback_core"
    ]
    assert not bad, "otel_feedback_core may import the standard library only:\n" + _describe(bad, module_files())


def test_the_sdk_never_imports_the_collector(graph) -> None:
    bad = [
        edge
        for source, edges in graph.items()
        if _top(source) == "otel_feedback"
        for edge in edges
        if _top(edge.target) in ("otel_feedback_collector", "collector")
    ]
    assert not bad, "the SDK must not import the collector package:\n" + _describe(bad, module_files())


def test_the_collector_imports_only_public_sdk_modules(graph) -> None:
    bad = [
        edge
        for source, edges in graph.items()
        if _top(source) == "otel_feedback_collector"
        for edge in edges
        if _top(edge.target) == "otel_feedback" and any(part.startswith("_") for part in edge.target.split("."))
    ]
    assert not bad, "the collector may import public SDK modules only:\n" + _describe(bad, module_files())


def test_the_stand_in_server_imports_neither_sdk_nor_collector(graph) -> None:
    bad = [
        edge
        for source, edges in graph.items()
        if _top(source) == "otel_feedback_testing"
        for edge in edges
        if _top(edge.target) in ("otel_feedback", "otel_feedback_collector", "collector")
    ]
    assert not bad, "otel_feedback_testing stands alone:\n" + _describe(bad, module_files())


def test_nothing_imports_the_old_collector_name() -> None:
    found = []
    folders = [*PACKAGE_FOLDERS.values(), *OTHER_FOLDERS]
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                names = (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                    else []
                )
                found.extend(f"  {path.relative_to(REPO)}:{node.lineno}: {n}" for n in names if _top(n) == "collector")
    assert not found, "the collector's package is otel_feedback_collector; these still import `collector`:\n" + "\n".join(found)


def strongly_connected_components(nodes: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred nodes, recursion would do too)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(nodes[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(nodes[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def test_strongly_connected_components_finds_a_cycle_and_no_false_one() -> None:
    assert strongly_connected_components({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"], ["d"]]
    assert all(len(c) == 1 for c in strongly_connected_components({"a": {"b"}, "b": {"c"}, "c": set()}))


def test_no_import_cycles(graph) -> None:
    nodes = {name: {edge.target for edge in edges if edge.target in graph and edge.target != name} for name, edges in graph.items()}
    cycles = [component for component in strongly_connected_components(nodes) if len(component) > 1]
    assert not cycles, "import cycles (each line one set of modules that import each other):\n" + "\n".join(
        "  " + " <-> ".join(component) for component in cycles
    )


def test_pyproject_ships_every_package() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: setuptools vendors a TOML reader
        from setuptools._vendor import tomli as tomllib  # type: ignore[no-redef]
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"] == {"otel_feedback_collector": "collector"}
    expected = sorted(name for name, path in module_files().items() if _is_package(path))
    assert sorted(config["packages"]) == expected


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("import otel_feedback.evaluation", ("starlette", "uvicorn", "grpc", "jinja2", "otel_feedback_collector")),
        ("import otel_feedback", ("duckdb", "pyarrow", "starlette", "uvicorn", "grpc", "jinja2", "otel_feedback_collector")),
        ("import otel_feedback.openai, otel_feedback.labeling, otel_feedback.label_schemas", ("duckdb", "pyarrow", "grpc")),
    ],
)
def test_importing_the_sdk_loads_no_server_package(statement: str, forbidden: tuple[str, ...]) -> None:
    import subprocess

    code = f"import sys; {statement}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(ast.literal_eval(result.stdout.strip().splitlines()[-1]))
    assert not loaded & set(forbidden), f"{statement!r} loaded {sorted(loaded & set(forbidden))}"

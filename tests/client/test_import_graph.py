"""No import circles in the package: the graph of what each module imports
when it is loaded (imports for type checkers only, and imports inside
functions, left out) has no cycle. Lazy imports inside functions may close
one: 0.3.1's module paths (``tournament`` and the sync API) need it. And the
core (clients, protocol, replays) imports none of the packages built on it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scoreganizer_client_lib
from layers import imports

ROOT = Path(scoreganizer_client_lib.__file__).parent
#: The packages built on the library's core (the clients, the protocol, the
#: replays), which the core never imports, not even inside a function.
BUILT_ON = {"watching", "cli", "app", "sandbox"}
#: The core's entry points to them: ``python -m scoreganizer_client_lib`` runs
#: the command, and the pytest plugin serves a sandbox.
ENTRY_POINTS = {"__main__.py", "pytest_plugin.py"}
CORE = sorted(
    [path for path in ROOT.glob("*.py") if path.name not in ENTRY_POINTS]
    + [*ROOT.glob("_protocol/*.py"), *ROOT.glob("replays/*.py")]
)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _loaded_imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that loading ``path`` loads first."""
    name = _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in modules:  # a name in a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    pending: list[ast.AST] = list(ast.parse(path.read_text(encoding="utf-8")).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                add(f"{module}.{alias.name}")
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            pending.extend(ast.iter_child_nodes(node))
    return found


def _a_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (its modules in order), or [] when it has none."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        path.append(node)
        for after in sorted(graph[node]):
            if cycle := visit(after):
                return cycle
        path.pop()
        done.add(node)
        return []

    for node in sorted(graph):
        if cycle := visit(node):
            return cycle
    return []


def test_no_module_imports_itself_through_others() -> None:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {_name(path) for path in paths}
    graph = {_name(path): _loaded_imports(path, modules) for path in paths}
    assert sum(len(targets) for targets in graph.values()) > len(modules)  # the graph is read
    assert _a_cycle(graph) == []


def test_a_cycle_is_found() -> None:
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


@pytest.mark.parametrize("path", CORE, ids=[str(path.relative_to(ROOT)) for path in CORE])
def test_the_core_imports_no_package_built_on_it(path: Path) -> None:
    own, library = imports(path.read_text(encoding="utf-8"))
    outside = own | library if path.parent == ROOT else library  # ".x" is the core's own there
    assert outside.isdisjoint(BUILT_ON)

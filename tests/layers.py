"""What the tests of how the package is layered share (tests/app, tests/sandbox,
tests/watching, the import graph): the modules one module imports when it
runs, and the check that a table of allowed imports places every module,
each below the ones it imports."""

from __future__ import annotations

import ast
from pathlib import Path

LIBRARY = "scoreganizer_client_lib"


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _named(node: ast.ImportFrom) -> list[str]:
    """The modules a relative import names, by their first part."""
    return [node.module.split(".")[0]] if node.module else [a.name for a in node.names]


def imports(source: str) -> tuple[set[str], set[str]]:
    """What a module of a package (``source``) imports when it runs, inside
    functions too, imports only for type checkers left out: the modules of its
    own package (``from .x import ...``), and the library's modules outside it
    (``from ..x``, or by absolute name), each by its first part."""
    own: set[str] = set()
    library: set[str] = set()
    pending: list[ast.AST] = [ast.parse(source)]
    while pending:
        node = pending.pop()
        if _type_checking(node):
            continue
        if isinstance(node, ast.ImportFrom) and node.level:
            (own if node.level == 1 else library).update(_named(node))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for parts in (str(name).split(".") for name in names):
                if parts[0] == LIBRARY and len(parts) > 1:
                    library.add(parts[1])
        pending.extend(ast.iter_child_nodes(node))
    return own, library


def assert_placed(package: Path, allowed: dict[str, set[str]]) -> None:
    """Every module of the ``package`` folder has its place in ``allowed``
    (a new module must be placed), and each may import only modules listed
    before it, so that no import circle can form inside the package."""
    assert {path.stem for path in package.glob("*.py")} == set(allowed)
    above: set[str] = set()
    for module, imported in allowed.items():
        assert imported <= above, module
        above.add(module)

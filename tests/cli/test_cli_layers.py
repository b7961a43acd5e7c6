"""The command (and the web app) use the library through its public names
only: no private module (``_protocol``, ``_client``, ``_files``...), no
private function or attribute of the library. Their own private modules are
fine."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "src" / "scoreganizer_client_lib"
#: The layers above the library, each allowed its own private modules.
CLIENTS = [PACKAGE / name for name in ("cli", "app") if (PACKAGE / name).is_dir()]
MODULES = sorted(path for folder in CLIENTS for path in folder.rglob("*.py"))
#: Library-private modules a layer may use all the same (not client APIs):
#: the in-process server runner, the connection guard with its limits,
#: the allocator setting and the capped request-body reader, which the app
#: shares with the sandbox, and the one way to replace a file whole.
SHARED = {
    f"{PACKAGE.name}.{name}"
    for name in (
        "_serving",
        "_connection_guard",
        "_connection_limits",
        "_allocator",
        "_request_body",
        "_files",
    )
}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: Path, node: ast.ImportFrom) -> list[str]:
    """The absolute dotted name ``node`` imports from, as parts."""
    if node.level == 0:
        return (node.module or "").split(".")
    package = list(module.relative_to(PACKAGE.parent).with_suffix("").parts)
    if module.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return base + (node.module.split(".") if node.module else [])


def _own(parts: list[str]) -> bool:
    """Whether ``parts`` names a module of a client layer itself (cli, app)."""
    return len(parts) >= 2 and parts[0] == PACKAGE.name and (PACKAGE / parts[1]) in CLIENTS


def _defined_here(tree: ast.Module) -> set[str]:
    """Private names the module defines itself (its own helpers, attributes)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return {name for name in names if _private(name)}


def violations(module: Path) -> Iterator[str]:
    """Every use of a private part of the library in ``module``."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    own_private = _defined_here(tree)
    for node in ast.walk(tree):
        where = f"{module.relative_to(PACKAGE)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE.name and not _own(parts) and any(map(_private, parts)):
                    yield f"{where}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            parts = _resolve(module, node)
            if parts[0] != PACKAGE.name or _own(parts) or ".".join(parts) in SHARED:
                continue
            if any(map(_private, parts)):
                yield f"{where}: from {'.'.join(parts)} import ..."
            for alias in node.names:
                if _private(alias.name) and not _own([*parts, alias.name]):
                    yield f"{where}: from {'.'.join(parts)} import {alias.name}"
        elif (
            isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in own_private
        ):
            yield f"{where}: .{node.attr}"


@pytest.mark.parametrize("module", MODULES, ids=[str(m.relative_to(PACKAGE)) for m in MODULES])
def test_uses_public_library_names_only(module: Path) -> None:
    assert list(violations(module)) == []


def test_the_check_finds_private_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: each of these lines is caught."""
    bad = PACKAGE / "cli" / "tournaments.py"  # a real location, for relative imports
    source = "\n".join(
        [
            "from .._protocol import RetryPolicy",
            "from ..config import _UNSAFE_IN_NAME",
            "import scoreganizer_client_lib._client",
            "from scoreganizer_client_lib import _files",
            "sc._run(sc._core.tournaments('all'))",
            "from ._common import client",  # the command's own: fine
            "from . import _app",  # the command's own: fine
        ]
    )
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    found = list(violations(bad))
    assert len(found) == 6, found

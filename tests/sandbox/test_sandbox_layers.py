"""The sandbox's layers point one way: the server runs the app (in this
process, or through the supervisor, its worker processes), which calls the
rules and accounts, which call the store; the store (with the file and its
connections, the schema, the standings' statements and SQLite's failures
beneath it) decides nothing and knows no HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import scoreganizer_client_lib.sandbox as sandbox_package
from layers import assert_placed, imports

PACKAGE = Path(sandbox_package.__file__).parent

#: What each module may import from inside the sandbox package (imports only
#: for type checkers left out), each module below the ones it imports.
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "tuning": {"config"},
    "errors": set(),
    "pools": {"errors"},
    "batching": set(),
    "bodies": {"errors"},
    "clock": set(),
    "sqlite_errors": set(),
    "ranking": set(),
    "schema": {"ranking"},
    "database": {"config", "sqlite_errors", "schema"},
    "store": {"config", "batching", "clock", "database", "ranking", "schema"},
    "accounts": {"config", "errors", "store", "pools"},
    "rules": {"config", "errors", "store", "ranking", "accounts", "clock"},
    "scenario": {"config", "errors", "store", "accounts", "rules"},
    "faults": {"store"},
    "recording": {"store"},
    "scripting": {"store", "faults", "recording"},
    "control": {"store", "rules", "scenario", "faults", "recording", "bodies"},
    "app": {
        "config", "errors", "sqlite_errors", "store", "accounts", "rules", "bodies", "pools",
        "scripting", "control",
    },
    "restarts": set(),
    "http_server": {"store", "accounts", "app"},
    "worker_process": {"config", "store", "restarts", "tuning", "http_server"},
    "supervisor": {"config", "restarts", "worker_process"},
    "server": {
        "config", "clock", "store", "accounts", "scenario", "faults", "recording", "restarts",
        "tuning", "http_server", "supervisor",
    },
    "__init__": {"config", "errors", "sqlite_errors", "store", "accounts", "rules", "server"},
}  # fmt: skip
#: The modules beneath the policies: rows, SQL and SQLite, nothing else.
DATA_LAYER = ("sqlite_errors", "ranking", "schema", "database", "store")


def _sandbox_imports(module: str) -> set[str]:
    return imports((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))[0]


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_imports_point_one_way(module: str) -> None:
    assert _sandbox_imports(module) <= ALLOWED[module]


def test_every_module_is_placed_below_what_it_imports() -> None:
    assert_placed(PACKAGE, ALLOWED)


@pytest.mark.parametrize("module", DATA_LAYER)
def test_the_data_layer_knows_no_http_and_no_policy(module: str) -> None:
    source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    for word in ("SandboxError", "status_code", "argon2", "token_expires_after", "403", "404"):
        assert word not in source


def test_the_schema_is_made_in_one_place() -> None:
    words = ("CREATE TABLE", "CREATE INDEX", "CREATE TRIGGER", "ALTER TABLE")
    for path in PACKAGE.glob("*.py"):
        if path.stem != "schema":
            source = path.read_text(encoding="utf-8").upper()
            assert [word for word in words if word in source] == [], path.stem


def test_scenario_runs_no_sql() -> None:
    source = (PACKAGE / "scenario.py").read_text(encoding="utf-8").upper()
    for word in ("SELECT ", "INSERT ", "UPDATE ", ".CONN"):
        assert word not in source


def test_routes_are_module_functions() -> None:
    tree = ast.parse((PACKAGE / "app.py").read_text(encoding="utf-8"))
    create_app = next(
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "create_app"
    )
    nested = [node.name for node in ast.walk(create_app) if isinstance(node, ast.AsyncFunctionDef)]
    assert nested == []
    assert len(create_app.body) < 15


def test_error_codes_have_one_source() -> None:
    from scoreganizer_client_lib.exceptions import ErrorCode
    from scoreganizer_client_lib.tournament import KNOWN_STATUSES

    for module in ALLOWED:
        source = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
        for code in ErrorCode:
            if code.value not in KNOWN_STATUSES:  # tournament statuses spelled alike
                assert f'"{code.value}"' not in source, (module, code)

"""Nothing the gateway gives Litestar to call on every request runs in a worker thread.

Litestar calls a guard, a dependency or a handler that is a plain function through
``anyio.to_thread.run_sync`` unless told otherwise: a NUL check written as a plain guard cost
every placement about 0.05 ms of the gateway's CPU, a sixth of the whole
(docs/performance.md, "Eighth round"). Read from the sources, so that a new one is caught too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import papertape.gateway

SOURCES = Path(papertape.gateway.__file__).parent
_ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "route", "reading", "acting"}


def _modules() -> list[tuple[str, ast.Module]]:
    found = []
    for path in sorted(SOURCES.rglob("*.py")):
        name = ".".join(("papertape", *path.relative_to(SOURCES.parent).with_suffix("").parts))
        found.append((name, ast.parse(path.read_text())))
    return found


def test_every_guard_is_a_coroutine_function() -> None:
    guards: list[str] = []
    for module_name, tree in _modules():
        module = importlib.import_module(module_name)
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "guards":
                assert isinstance(node.value, ast.List), ast.unparse(node)
                for element in node.value.elts:
                    name = ast.unparse(element)
                    guard = getattr(module, name)
                    guards.append(name)
                    assert inspect.iscoroutinefunction(guard), (
                        f"{module_name}.{name} is no coroutine"
                    )
    assert "authorize" in guards
    assert "no_nul_parameters" in guards


def test_every_plain_handler_and_dependency_says_it_runs_on_the_loop() -> None:
    for module_name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):  # a plain def, decorated as a route
                for decorator in node.decorator_list:
                    call = decorator if isinstance(decorator, ast.Call) else None
                    called = ast.unparse(call.func if call else decorator).rsplit(".", 1)[-1]
                    if called in _ROUTE_DECORATORS:
                        keywords = {
                            k.arg: ast.unparse(k.value) for k in (call.keywords if call else [])
                        }
                        assert keywords.get("sync_to_thread") == "False", (
                            f"{module_name}.{node.name} would run in a worker thread"
                        )
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Provide"):
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                assert keywords.get("sync_to_thread") == "False", ast.unparse(node)

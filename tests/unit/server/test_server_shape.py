"""The scoring server's shape: no import circle inside ``dockyard.server``, routes over one responder."""

from __future__ import annotations

import ast
from pathlib import Path

import dockyard.server
from dockyard.server.app import ScoringApp, create_app
from dockyard.server.responder import Responder
from dockyard.server.settings import load_settings

PACKAGE = Path(dockyard.server.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Modules of ``modules`` imported anywhere in ``tree`` (in functions too), not under TYPE_CHECKING."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if sub in modules:
                    found.add(sub)
                elif node.module in modules:
                    found.add(node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _server_import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    return {
        name: _imports(ast.parse(path.read_text()), modules) - {name}
        for name, path in files.items()
    }


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_server_package_has_no_import_circle() -> None:
    graph = _server_import_graph()
    assert "dockyard.server.entry" in graph and "dockyard.server.zygote" in graph
    cycle = _find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_routes_share_the_apps_one_responder(tmp_path: Path) -> None:
    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    app = create_app(load_settings(["--entry-script", str(tmp_path / "score.py")], {}))
    assert ScoringApp.__mro__ == (ScoringApp, object)  # composed, not inherited
    assert isinstance(app.responder, Responder)
    routes = [*app.router.routes.values(), app.router.fallback]
    assert {"/", "/score", "/swagger.json", "/health/live", "/health/ready"} <= set(
        app.router.routes
    )
    assert all(route.responder is app.responder for route in routes)  # type: ignore[attr-defined]

"""The shape of the code, checked from the code itself (see DESIGN.md and README's "Layout").

* The import graph of ``src/dockyard`` (every import statement, those inside functions too; only
  ``if TYPE_CHECKING:`` blocks aside) has no circle, and the lower layers (operations, store,
  builders, targets, server) never import the user objects or the CLI.
* Every target class has the :class:`dockyard.targets.base.Target` interface's methods with its
  signatures, and nothing above ``targets/`` compares a value with a target's kind.
* Docker's errors are read in one place (``targets/docker_engine.py``: ``engine_errors``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "dockyard"
USER_OBJECTS = (
    "dockyard.workspace",
    "dockyard.assets",
    "dockyard.compute",
    "dockyard.diagnosis",
    "dockyard.webservice",
    "dockyard.cli",
    "dockyard.ui",
)
LOWER_LAYERS = (
    "dockyard.ops",
    "dockyard.store",
    "dockyard.builders",
    "dockyard.targets",
    "dockyard.server",
)
KINDS = {"local", "docker", "cluster", "ray", "aks", "aci"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The dockyard modules ``name`` imports (a ``from package import module`` names the module)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in child.names)
            visit(child)

    visit(tree)
    resolved = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Imports between a package's modules and its own ``__init__`` are not circles of design:
    a package's ``__init__`` re-exporting its modules is how public names are made."""
    pruned = {}
    for name, targets in graph.items():
        pruned[name] = {t for t in targets if not (name.startswith(t + ".") and t in graph)}
    return pruned


#: Circles that remain while the reshaping goes on (issue 10, step 4 and the server's step 5),
#: each named by one of its modules. The list only shrinks: a new circle fails the test, and so
#: does an entry that is gone (remove it).
REMAINING: dict[str, str] = {}


def test_the_import_graph_has_no_circle() -> None:
    circles = _circles(_package_edges(import_graph()))
    new = [c for c in circles if not set(c) & set(REMAINING)]
    assert not new, "import circles:\n" + "\n".join(" <-> ".join(c) for c in new)
    gone = [name for name in REMAINING if not any(name in c for c in circles)]
    assert not gone, f"no longer in a circle (remove from REMAINING): {gone}"


def test_the_dashboard_is_a_skin_over_the_sdk_like_the_cli() -> None:
    """dockyard.ui reads through the public SDK only (and binds its socket as the scoring server
    does), and only the CLI starts it."""
    below = LOWER_LAYERS + ("dockyard.assets", "dockyard.diagnosis")
    graph = import_graph()
    reaching = [
        f"{name} -> {target}"
        for name, targets in graph.items()
        if name.startswith("dockyard.ui")
        for target in targets
        if target.startswith(below) and target not in ("dockyard.server", "dockyard.server.serve")
    ]
    assert not reaching, "the dashboard reaches below the SDK:\n" + "\n".join(reaching)
    users = sorted(
        name
        for name, targets in graph.items()
        if not name.startswith(("dockyard.ui", "dockyard.cli"))
        and any(t.startswith("dockyard.ui") for t in targets)
    )
    assert not users, f"only the CLI starts the dashboard: {users}"


def test_lower_layers_never_import_the_user_objects_or_the_cli() -> None:
    wrong = [
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.startswith(LOWER_LAYERS)
        for target in targets
        if target.startswith(USER_OBJECTS)
    ]
    assert not wrong, "lower layers importing user objects or the CLI:\n" + "\n".join(wrong)


def _target_classes() -> list[type]:
    from dockyard.targets import ENGINES, target_for

    return [type(target_for(engine, "test")) for engine in ENGINES]


def test_every_target_class_has_the_target_interface_with_its_signatures() -> None:
    from dockyard.targets.base import Target

    interface = {
        name: inspect.signature(member)
        for name, member in vars(Target).items()
        if callable(member) and not name.startswith("_")
    }
    assert {"deploy", "update", "reload", "start", "stop", "delete", "status", "logs"} <= set(
        interface
    )
    for cls in _target_classes():
        for name, signature in interface.items():
            method = getattr(cls, name, None)
            assert method is not None, f"{cls.__name__} has no {name}()"
            assert inspect.signature(method) == signature, (
                f"{cls.__name__}.{name}{inspect.signature(method)} is not Target.{name}{signature}"
            )
        for attribute in ("kind", "needs_image", "supports_reload"):
            assert hasattr(cls, attribute), f"{cls.__name__} does not say its {attribute}"
        assert list(inspect.signature(cls).parameters)[:1] == ["scope"]


@pytest.mark.parametrize("engine", ["local", "docker"])
def test_target_for_gives_each_engine_its_class(engine: str) -> None:
    from dockyard.targets import target_for

    assert target_for(engine, "ws").kind == engine
    module = importlib.import_module(f"dockyard.targets.{engine}")
    assert type(target_for(engine, "ws")).__module__ == module.__name__


def test_nothing_above_targets_compares_a_value_with_a_target_kind() -> None:
    found = []
    for name, path in _modules().items():
        if not name.startswith((*USER_OBJECTS, "dockyard.ops")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                constants = [
                    o.value
                    for o in operands
                    for o in ([o] if not isinstance(o, ast.Tuple | ast.List | ast.Set) else o.elts)
                    if isinstance(o, ast.Constant) and isinstance(o.value, str)
                ]
                if any(c.lower() in KINDS for c in constants):
                    found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
            elif isinstance(node, ast.Match):
                found.append(f"{name}:{node.lineno}: match statement")
    assert not found, "kind checks above targets/:\n" + "\n".join(found)


def test_every_import_inside_a_function_says_why() -> None:
    """An import inside a function is there to keep a light import light (or to load an optional
    package only when used): each says so on its line, so a newcomer knows it is deliberate."""
    silent = []
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    last = lines[(node.end_lineno or node.lineno) - 1]
                    if module and module.startswith("dockyard") and "#" not in last:
                        silent.append(f"{name}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not silent, "imports inside functions without a reason:\n" + "\n".join(silent)


def test_the_docker_sdk_errors_are_read_in_one_place() -> None:
    """Docker's errors become dockyard's in ``targets/docker_engine.engine_errors`` only (DESIGN:
    each engine's error translation in one place); every other module works with dockyard's."""
    readers = sorted(
        name
        for name, path in _modules().items()
        if "docker.errors" in path.read_text() and name != "dockyard.targets.docker_engine"
    )
    assert not readers, "Docker's errors read outside targets/docker_engine.py: " + ", ".join(
        readers
    )

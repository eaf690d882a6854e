"""No private module (``_name.py``) is imported from another package (issue 10): a package's
underscore modules are pieces of its implementation, and other packages use what the package
makes public. Checked from the import graph of ``src/dockyard`` (imports inside functions too).
"""

from __future__ import annotations

from tests.unit.test_structure import PACKAGE, SRC, import_graph

#: Imports of another package's private module that remain while the reshaping goes on
#: (importer -> private module), with who moves them. A new one fails the test; remove an entry
#: when its import is gone.
REMAINING: dict[tuple[str, str], str] = {}


def _package_of(module: str) -> str:
    """The package a module belongs to (a package's ``__init__`` belongs to the package)."""
    folder = SRC.joinpath(*module.split("."))
    return module if folder.is_dir() else module.rpartition(".")[0]


def private_imports(graph: dict[str, set[str]] | None = None) -> list[tuple[str, str]]:
    """(importer, private module) for every private module imported from another package."""
    found = []
    for name, targets in sorted((import_graph() if graph is None else graph).items()):
        for target in sorted(targets):
            package, _, last = target.rpartition(".")
            if last.startswith("_") and package != _package_of(name):
                found.append((name, target))
    return found


def test_no_private_module_is_imported_from_another_package() -> None:
    assert PACKAGE.is_dir()
    new = [f"{a} -> {b}" for a, b in private_imports() if (a, b) not in REMAINING]
    assert not new, "private modules imported from another package:\n" + "\n".join(new)


def test_the_private_modules_of_assets_stay_inside_assets() -> None:
    """Environments, spec files and model rules: none of these is imported from outside."""
    outside = [
        f"{a} -> {b}"
        for a, b in private_imports()
        if b.startswith("dockyard.assets.")
        and b.rpartition(".")[2]
        in {"_env_parts", "_env_registry", "_specfiles", "_model_rules", "_model_path"}
    ]
    assert not outside, "\n".join(outside)


def test_the_check_tells_another_package_from_the_same_one() -> None:
    graph = {
        "dockyard.webservice.base": {"dockyard.assets._model_rules", "dockyard.assets.filters"},
        "dockyard.assets.model": {"dockyard.assets._model_rules"},
        "dockyard.assets": {"dockyard.assets._env_parts"},
        "dockyard.cli.main": {"dockyard.server.__main__", "dockyard.cli.common"},
    }
    assert private_imports(graph) == [
        ("dockyard.cli.main", "dockyard.server.__main__"),
        ("dockyard.webservice.base", "dockyard.assets._model_rules"),
    ]

"""The CLI is a thin skin over the public SDK (issue 10): every ``from dockyard... import X`` in
``cli/`` names a public module and a name that module exports (its ``__all__``), so that
everything the CLI does can be done from Python with the same calls.

Imports between the CLI's own modules (``dockyard.cli...``) are the CLI's business.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import dockyard

CLI = Path(dockyard.__file__).parent / "cli"
#: The modules the CLI may import from: the package (its lazy exports) and the public modules
#: whose names the package does not re-export (errors, the default workspace's name, the
#: deployment-config file reader, the scoring server's entry point, the dashboard's server).
PUBLIC_MODULES = (
    "dockyard",
    "dockyard.errors",
    "dockyard.server",
    "dockyard.ui",
    "dockyard.webservice",
    "dockyard.workspace",
)


def _imports() -> list[tuple[str, int, str, list[str]]]:
    """(file, line, module, names) of every import in cli/, those inside functions too."""
    found = []
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "dockyard":
                        found.append((path.name, node.lineno, alias.name, []))
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:  # relative: inside dockyard.cli
                    module = "dockyard.cli" + (f".{module}" if module else "")
                if module.split(".")[0] == "dockyard":
                    found.append((path.name, node.lineno, module, [a.name for a in node.names]))
    return found


def test_the_cli_imports_only_public_names_of_public_modules() -> None:
    imports = _imports()
    assert any(module == "dockyard" for _, _, module, _ in imports)  # the scan sees imports
    wrong = []
    for file, line, module, names in imports:
        if module == "dockyard.cli" or module.startswith("dockyard.cli."):
            continue
        where = f"cli/{file}:{line}: from {module} import {', '.join(names) or '(module)'}"
        if any(part.startswith("_") for part in module.split(".")):
            wrong.append(f"{where}: a private module")
            continue
        if module not in PUBLIC_MODULES:
            wrong.append(f"{where}: not one of the public modules {PUBLIC_MODULES}")
            continue
        exported = set(getattr(importlib.import_module(module), "__all__", ()))
        for name in names:
            if name.startswith("_"):
                wrong.append(f"{where}: {name} is private")
            elif name not in exported:
                wrong.append(f"{where}: {name} is not in {module}.__all__")
            else:
                getattr(importlib.import_module(module), name)  # and it is there
    assert not wrong, "the CLI reaches past the public SDK:\n" + "\n".join(wrong)


def test_the_public_modules_export_what_the_cli_needs() -> None:
    """The calls the CLI makes exist under their public names (a rename breaks here first)."""
    from dockyard import CondaDependencies, Environment, Image, LocalWebservice, Workspace
    from dockyard.server import main
    from dockyard.webservice import config_from_file

    assert callable(main) and callable(config_from_file)
    for owner, call in [
        (Environment, "list_versions"),
        (CondaDependencies, "package_name"),
        (Workspace, "find_config"),
        (LocalWebservice, "deploy_configuration"),
        (Image, "bootstrap_base_image"),
        (Image, "default_base_image"),
        (Image, "get_container_registry"),
        (Image, "set_container_registry"),
    ]:
        assert callable(getattr(owner, call)), f"{owner.__name__}.{call}"

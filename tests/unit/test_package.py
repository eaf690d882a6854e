"""The package's public surface and its import-weight promise."""

from __future__ import annotations

import subprocess
import sys

import dockyard

HEAVY = ("sqlalchemy", "docker", "ray", "typer", "rich", "alembic", "pydantic")

#: The public names (``dockyard.__all__``): a change here is a change of the SDK's surface.
PUBLIC = [
    "AciWebservice",
    "AksCompute",
    "AksWebservice",
    "AzureMLException",
    "ClusterWebservice",
    "ComputeTarget",
    "ComputeTargetException",
    "CondaDependencies",
    "ConflictError",
    "ContainerImage",
    "ContainerWebservice",
    "DockyardError",
    "Environment",
    "Image",
    "ImageCreationError",
    "InferenceConfig",
    "Keyvault",
    "LocalWebservice",
    "Model",
    "ModelNotFoundException",
    "NotFoundError",
    "RayCompute",
    "UserError",
    "UserErrorException",
    "Webservice",
    "WebserviceError",
    "WebserviceException",
    "Workspace",
    "__version__",
    "diagnose",
    "measure_capacity",
    "replicas_needed",
]

#: What the CLI does with images, as public SDK calls (the CLI imports only public names).
IMAGE_CALLS = {
    "bootstrap_base_image": ["workspace", "python_version", "name", "mirror", "force",
                             "set_as_default", "show_output", "log"],
    "default_base_image": ["workspace"],
    "set_default_base_image": ["workspace", "name"],
    "get_container_registry": ["workspace"],
    "set_container_registry": ["workspace", "address", "username", "password"],
}  # fmt: skip


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert dockyard.__all__ == sorted(dockyard.__all__)
    for name in dockyard.__all__:
        assert getattr(dockyard, name) is not None, name


def test_the_public_names_are_pinned() -> None:
    assert dockyard.__all__ == PUBLIC


def test_image_settings_and_base_image_bootstrap_are_public_calls() -> None:
    import inspect

    for name, parameters in IMAGE_CALLS.items():
        call = getattr(dockyard.Image, name)
        assert list(inspect.signature(call).parameters) == parameters, name
        assert call.__doc__, name
    assert dockyard.Image.DOCKYARD_BASE_IMAGE


def test_importing_the_server_pulls_in_no_sdk_modules() -> None:
    code = (
        "import sys, dockyard.server, dockyard.server.app\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"dockyard.server imported: {out.stdout.strip()}"


def test_unknown_attribute_is_a_clear_attribute_error() -> None:
    try:
        dockyard.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")

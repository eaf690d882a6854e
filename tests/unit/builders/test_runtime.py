"""The server runtime (build/runtime.py): files, keys, the wheel, the .pth attachment."""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from dockyard.builders import runtime


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of dockyard's runtime files, so tests can edit the server."""
    root = tmp_path / "dockyard"
    for name, path in runtime.server_files():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (root / "server").mkdir(exist_ok=True)
    (root / "server" / "__pycache__").mkdir()
    (root / "server" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    monkeypatch.setattr(runtime, "package_root", lambda: root)
    return root


def test_server_files_are_the_server_part_only() -> None:
    names = [name for name, _ in runtime.server_files()]
    assert names[:2] == ["dockyard/__init__.py", "dockyard/errors.py"]
    assert all(n.startswith("dockyard/server/") for n in names[2:])
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_server_requirements_are_base_dependencies_only() -> None:
    reqs = runtime.server_requirements()
    names = {r.split(">")[0].split(";")[0].strip() for r in reqs}
    assert "uvicorn" in names and "httptools" in names
    assert not any("extra" in r for r in reqs)
    assert "sqlalchemy" not in names and "typer" not in names


def test_edited_server_changes_hash_key_and_wheel_version(fake_package: Path) -> None:
    before = (
        runtime.source_hash(),
        runtime.runtime_key("cpython-311", "linux"),
        runtime.wheel_version(),
    )
    (fake_package / "server" / "new_module.py").write_text("X = 1\n")
    after = (
        runtime.source_hash(),
        runtime.runtime_key("cpython-311", "linux"),
        runtime.wheel_version(),
    )
    assert all(b != a for b, a in zip(before, after, strict=True))
    assert runtime.runtime_key("cpython-311", "linux") != runtime.runtime_key(
        "cpython-312", "linux"
    )


def test_wheel_is_valid_and_reproducible(tmp_path: Path, fake_package: Path) -> None:
    (fake_package / "server" / "__init__.py").write_text('"""server"""\n')
    first = runtime.build_server_wheel(tmp_path / "a")
    second = runtime.build_server_wheel(tmp_path / "b")
    assert first.name == second.name and first.read_bytes() == second.read_bytes()
    assert first.name.startswith("dockyard_server-") and first.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(first) as wheel:
        names = wheel.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = wheel.read(f"{info}/METADATA").decode()
        assert "Name: dockyard-server" in metadata and "Requires-Dist: uvicorn" in metadata
        assert "dockyard/server/__init__.py" in names and "dockyard/errors.py" in names
        assert not any(
            n.startswith(("dockyard/assets", "dockyard/cli", "dockyard/store")) for n in names
        )
        for row in wheel.read(f"{info}/RECORD").decode().splitlines():
            name, digest, size = row.split(",")
            if name.endswith("RECORD"):
                continue
            data = wheel.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == f"sha256={expected}" and int(size) == len(data)
    assert runtime.build_server_wheel(tmp_path / "a") == first  # reused


def test_attach_runtime_appends_a_relative_path(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    run_dir = tmp_path / "runtime" / "k1"
    run_dir.mkdir(parents=True)
    assert runtime.attach_runtime(prefix, run_dir)
    line, compat = (site / runtime.PTH_NAME).read_text().splitlines()
    assert not Path(line).is_absolute() and (site / line).resolve() == run_dir
    # the second line: the azureml stand-ins, inside the runtime folder (after site-packages)
    assert (site / compat).resolve() == run_dir / "dockyard" / "server" / "compat"
    assert not runtime.attach_runtime(prefix, run_dir)  # unchanged
    assert runtime.attached_runtime(prefix) == run_dir
    assert runtime.attached_runtime(tmp_path / "nothing") is None


def test_attach_runtime_rewrites_a_pth_without_the_stand_ins(tmp_path: Path) -> None:
    """A venv attached by an older dockyard (one line) gets the stand-ins line too."""
    prefix = tmp_path / "env"
    site = prefix / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    run_dir = tmp_path / "runtime" / "k1"
    run_dir.mkdir(parents=True)
    (site / runtime.PTH_NAME).write_text("../../../../runtime/k1\n")
    assert runtime.attached_runtime(prefix) == run_dir
    assert runtime.attach_runtime(prefix, run_dir)
    assert len((site / runtime.PTH_NAME).read_text().splitlines()) == 2


def test_site_packages_missing_is_a_clear_error(tmp_path: Path) -> None:
    from dockyard.errors import EnvironmentBuildError

    with pytest.raises(EnvironmentBuildError, match="site-packages"):
        runtime.site_packages(tmp_path)


def test_bootstrap_command_appends_runtime_after_site_packages(tmp_path: Path) -> None:
    assert runtime.bootstrap_command("py", None, ["--port", "1"]) == [
        "py", "-m", "dockyard.server", "--port", "1",
    ]  # fmt: skip
    command = runtime.bootstrap_command(sys.executable, tmp_path, ["--x"])
    assert command[1] == "-c" and "sys.path.append" in command[2] and command[-1] == "--x"
    assert str(tmp_path) in command[2]

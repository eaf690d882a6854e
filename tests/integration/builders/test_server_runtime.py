"""The server runtime in real environments: user pins win, the wheel installs with pip."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tests.integration.builders.envbuild_helpers import make_spec

from dockyard.builders import runtime
from dockyard.builders.envs import ensure_environment

HAS_SERVER_MAIN = (runtime.package_root() / "server" / "__main__.py").is_file()

PROBE = """
import importlib.metadata as m, json, sys
import dockyard, dockyard.errors, httptools, uvicorn
print(json.dumps({
    "uvicorn": uvicorn.__file__, "uvicorn_version": m.version("uvicorn"),
    "httptools": httptools.__file__, "dockyard": dockyard.__file__, "path": sys.path,
}))
"""


def run(command: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, **kw)  # type: ignore[call-overload, no-any-return]


def test_user_pin_of_older_uvicorn_stays_and_runtime_fills_the_rest(env_cache: Path) -> None:
    env = ensure_environment(
        make_spec("olduvicorn01", pip_packages=("uvicorn==0.30.6",)), env_cache
    )
    assert env.prefix is not None and env.runtime_dir is not None
    out = run([str(env.python), "-c", PROBE], check=True)
    found = json.loads(out.stdout)
    site = str(runtime.site_packages(env.prefix))
    assert found["uvicorn_version"] == "0.30.6" == env.packages["uvicorn"]
    assert found["uvicorn"].startswith(site)  # the user's pin wins
    assert found["httptools"].startswith(str(env.runtime_dir))  # the runtime fills the gap
    assert found["dockyard"].startswith(str(env.runtime_dir))
    paths = [str(Path(p).resolve()) for p in found["path"]]
    assert paths.index(str(Path(site).resolve())) < paths.index(str(env.runtime_dir))
    if HAS_SERVER_MAIN:
        helped = run(env.server_command("--help"), timeout=60)
        assert helped.returncode == 0, helped.stderr


def test_server_wheel_installs_into_a_fresh_venv_with_pip(tmp_path: Path) -> None:
    wheel = runtime.build_server_wheel(tmp_path / "wheels")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    installed = run([str(python), "-m", "pip", "install", "-q", str(wheel)], timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    out = run([str(python), "-c", PROBE], check=True)
    assert json.loads(out.stdout)["dockyard"].startswith(str(venv))
    shown = run([str(python), "-m", "pip", "show", runtime.SERVER_DISTRIBUTION], check=True)
    assert "Requires: httptools" in shown.stdout or "uvicorn" in shown.stdout
    assert run([str(python), "-c", "import dockyard.assets"]).returncode != 0  # server part only
    if not HAS_SERVER_MAIN:
        pytest.skip("dockyard/server/__main__.py is not written yet: --help not checked")
    helped = run([str(python), "-m", "dockyard.server", "--help"], timeout=60)
    assert helped.returncode == 0, helped.stderr


def test_edited_server_gives_a_new_runtime_on_reuse(
    env_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "dockyard"
    for name, path in runtime.server_files():
        target = tmp_path / "src" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    monkeypatch.setattr(runtime, "package_root", lambda: package)
    spec = make_spec("edited01", pip_packages=("six",))
    first = ensure_environment(spec, env_cache)
    (package / "server" / "dockyard_edit_probe.py").write_text("EDITED = True\n")
    lines: list[str] = []
    second = ensure_environment(spec, env_cache, progress=lines.append)
    assert second.reused and second.runtime_dir != first.runtime_dir
    assert any("runtime changed" in line for line in lines)
    probe = "from dockyard.server import dockyard_edit_probe as p; print(p.EDITED)"
    assert run([str(second.python), "-c", probe], check=True).stdout.strip() == "True"
    assert first.runtime_dir is not None and first.runtime_dir.is_dir()  # running services keep it


def test_user_managed_interpreter_gets_the_runtime_at_start_up(
    env_cache: Path, tmp_path: Path
) -> None:
    from dockyard.builders.uvtool import find_uv

    venv = tmp_path / "theirs"
    run([find_uv(), "venv", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    spec = make_spec("usermanaged01", user_managed=True, interpreter_path=str(python))
    env = ensure_environment(spec, env_cache)
    assert env.kind == "user-managed" and env.python == python and env.runtime_dir is not None
    assert "uvicorn" in env.packages
    assert not list(venv.glob(f"lib/python3*/site-packages/{runtime.PTH_NAME}"))  # untouched
    command = env.server_command("--help")
    assert command[:2] == [str(python), "-c"]
    code = command[2].replace(
        "runpy.run_module('dockyard.server', run_name='__main__', alter_sys=True)",
        "import dockyard.errors, uvicorn; print('ok')",
    )
    assert run([str(python), "-c", code], check=True).stdout.strip() == "ok"
    if HAS_SERVER_MAIN:
        assert run(command, timeout=60).returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not HAS_SERVER_MAIN, reason="dockyard/server/__main__.py is not written yet")
def test_server_scores_in_an_environment_with_an_older_uvicorn(
    env_cache: Path, tmp_path: Path
) -> None:
    env = ensure_environment(
        make_spec("olduvicorn01", pip_packages=("uvicorn==0.30.6",)), env_cache
    )
    (tmp_path / "score.py").write_text(
        "import uvicorn\ndef init():\n    print('uvicorn', uvicorn.__version__)\n"
        "def run(data):\n    return {'got': data}\n"
    )
    port = free_port()
    command = env.server_command("--entry-script", str(tmp_path / "score.py"), "--port", str(port))
    proc = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        answer = None
        deadline = time.monotonic() + 60
        while answer is None and time.monotonic() < deadline and proc.poll() is None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/score",
                data=b'"hello"',
                headers={"Content-Type": "application/json"},
            )
            try:
                answer = json.loads(urllib.request.urlopen(request, timeout=5).read())
            except OSError:
                time.sleep(0.1)
        assert answer == {"got": '"hello"'}
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert "uvicorn 0.30.6" in output  # the user's pin is what the script sees

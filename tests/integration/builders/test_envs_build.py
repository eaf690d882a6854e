"""ensure_environment with real uv and real installs (small packages: six, packaging)."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.builders.envbuild_helpers import make_ca_and_cert, make_spec, make_wheel

from dockyard.builders.envs import ensure_environment
from dockyard.errors import EnvironmentBuildError


def run_in(python: Path, code: str) -> str:
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_create_then_reuse(env_cache: Path) -> None:
    lines: list[str] = []
    spec = make_spec("create01", pip_packages=("six",), conda_packages=("packaging",))
    env = ensure_environment(spec, env_cache, progress=lines.append)
    assert env.kind == "venv" and not env.reused
    assert env.python.is_file() and env.prefix == env_cache / "create01"
    assert set(env.packages) >= {"six", "packaging", "uvicorn"}
    assert (
        run_in(env.python, "import six, packaging; print(six.__version__)") == env.packages["six"]
    )
    assert env.log_path is not None and "uv pip install" in env.log_path.read_text()
    assert any(line.startswith("Installed ") for line in lines)  # uv's summary as progress
    log_mtime = env.log_path.stat().st_mtime_ns

    started = time.perf_counter()
    again = ensure_environment(spec, env_cache)
    elapsed = time.perf_counter() - started
    assert again.reused and again.python == env.python and again.packages == env.packages
    assert elapsed < 0.5, f"reuse took {elapsed:.2f} s"
    assert env.log_path.stat().st_mtime_ns == log_mtime  # nothing was rebuilt


def test_concurrent_processes_build_once(env_cache: Path) -> None:
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        from dockyard.builders.envs import ensure_environment
        from dockyard.builders.specs import EnvironmentSpec
        spec = EnvironmentSpec(name="c", build_hash="concurrent01", pip_packages=("six",))
        env = ensure_environment(spec, Path({str(env_cache)!r}))
        print(json.dumps({{"reused": env.reused, "python": str(env.python)}}))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert sorted(r["reused"] for r in results) == [False, True, True]
    assert len({r["python"] for r in results}) == 1


def test_killed_build_leaves_nothing_trusted(env_cache: Path) -> None:
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from dockyard.builders import envs
        from dockyard.builders.specs import EnvironmentSpec
        real = envs.run_uv
        def slow(args, *a, **kw):
            real(args, *a, **kw)
            if args[0] == "venv":
                print("READY", flush=True)
                time.sleep(120)
        envs.run_uv = slow
        spec = EnvironmentSpec(name="k", build_hash="killed01", pip_packages=("six",))
        envs.ensure_environment(spec, Path({str(env_cache)!r}))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert not (env_cache / "killed01").exists()
    assert list(env_cache.glob(".tmp-killed01-*"))  # the half-built folder, never trusted

    env = ensure_environment(make_spec("killed01", pip_packages=("six",)), env_cache)
    assert not env.reused and env.python.is_file()
    assert not list(env_cache.glob(".tmp-killed01-*"))


def test_unknown_package_is_named_and_nothing_is_kept(env_cache: Path) -> None:
    spec = make_spec(
        "unknown01", pip_packages=("six",), conda_packages=("dockyard-no-such-pkg-xyz=1.2",)
    )
    with pytest.raises(EnvironmentBuildError) as caught:
        ensure_environment(spec, env_cache)
    error = caught.value
    assert "'dockyard-no-such-pkg-xyz==1.2.*'" in error.message
    assert "'six'" not in error.message
    assert error.step == "environment" and error.log_tail
    assert str(env_cache / "logs" / "unknown01.log") in str(error)
    assert (env_cache / "logs" / "unknown01.log").is_file()
    assert not (env_cache / "unknown01").exists()
    assert not list(env_cache.glob(".tmp-unknown01-*"))


def test_unsatisfiable_pin_is_named(env_cache: Path) -> None:
    spec = make_spec("pin01", pip_packages=("six==99.0", "packaging"))
    with pytest.raises(EnvironmentBuildError, match=r"Cannot install 'six==99.0'") as caught:
        ensure_environment(spec, env_cache)
    assert caught.value.details["requirements"] == ["six==99.0"]
    assert not (env_cache / "pin01").exists()


def test_resolution_conflict_names_both(env_cache: Path) -> None:
    spec = make_spec("conflict01", pip_packages=("packaging==24.0", "packaging>=25"))
    with pytest.raises(EnvironmentBuildError) as caught:
        ensure_environment(spec, env_cache)
    assert caught.value.details["requirements"] == ["packaging==24.0", "packaging>=25"]


def test_conda_spec_with_azureml_defaults(env_cache: Path) -> None:
    lines: list[str] = []
    spec = make_spec(
        "azure01",
        python_version="3.7",
        conda_packages=("six=1.17", "mkl", "pip"),
        pip_packages=("azureml-defaults==1.0.83", "packaging"),
        channels=("conda-forge",),
    )
    env = ensure_environment(spec, env_cache, progress=lines.append)
    assert env.log_path is not None
    log = env.log_path.read_text()
    assert "'azureml-defaults==1.0.83' not installed" in log
    assert "mkl" in log and "Python 3.7" in log
    assert any("Python 3.7" in line for line in lines)
    assert any("Python 3.7" in w for w in env.warnings)
    # azureml-defaults was not installed: the only `azureml` is dockyard's stand-in, which the
    # environment's .pth appends after site-packages
    found = run_in(
        env.python,
        "import importlib.metadata as m, azureml; "
        "print(sorted(d.metadata['Name'].lower() for d in m.distributions()), azureml.__path__)",
    )
    assert "azureml-defaults" not in found and "azureml-core" not in found
    assert "dockyard/server/compat/azureml" in found
    assert run_in(env.python, "import six; print(six.__version__)").startswith("1.17")


def test_pip_configuration_is_honoured_offline(
    env_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_environment(make_spec("warmruntime", pip_packages=("six",)), env_cache)  # runtime ready
    links = tmp_path / "links"
    make_wheel(links, "dockyard-offline-pkg", "1.0", {"dockyard_offline_pkg.py": "VALUE = 42\n"})
    conf = tmp_path / "pip.conf"
    conf.write_text(
        f"[global]\nno-index = true\nfind-links =\n    {links}\n    {tmp_path / 'gone'}\n"
    )
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for var in ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)
    env = ensure_environment(
        make_spec("offline01", pip_packages=("dockyard-offline-pkg",)), env_cache
    )
    assert run_in(env.python, "import dockyard_offline_pkg as m; print(m.VALUE)") == "42"
    assert env.log_path is not None
    log = env.log_path.read_text()
    assert "--no-index" in log and f"--find-links {links}" in log
    assert "gone skipped" in log


@pytest.mark.slow
def test_numpy_and_scikit_learn_from_a_conda_spec(env_cache: Path) -> None:
    spec = make_spec(
        "sklearn01",
        python_version="3.11",
        conda_packages=("numpy>=1.26", "scikit-learn", "mkl", "pip"),
        pip_packages=("azureml-defaults",),
    )
    env = ensure_environment(spec, env_cache)
    assert {"numpy", "scikit-learn", "uvicorn"} <= set(env.packages)
    code = (
        "from sklearn.linear_model import Ridge; from sklearn.datasets import load_diabetes; "
        "X, y = load_diabetes(return_X_y=True); print(round(Ridge().fit(X, y).score(X, y), 2))"
    )
    assert float(run_in(env.python, code)) > 0.3


@pytest.fixture
def tls_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A package index over HTTPS on 127.0.0.1 with a throwaway CA (a TLS-intercepting proxy's)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throwaway CA")
    ca, cert, key = make_ca_and_cert(tmp_path / "tls")
    root = tmp_path / "www"
    wheel = make_wheel(
        root / "files", "dockyard-tls-pkg", "1.0", {"dockyard_tls_pkg.py": "OK = 1\n"}
    )
    page = root / "simple" / "dockyard-tls-pkg" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        f'<html><body><a href="../../files/{wheel.name}">{wheel.name}</a></body></html>'
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/simple", ca
    finally:
        server.shutdown()
        server.server_close()


def test_private_ca_from_pip_config_is_trusted(
    env_cache: Path, tls_index: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_environment(make_spec("warmruntime", pip_packages=("six",)), env_cache)  # runtime ready
    url, ca = tls_index
    for var in (
        "PIP_CERT",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "PIP_FIND_LINKS",
        "SSL_CERT_DIR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no user pip.conf
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    conf = tmp_path / "pip.conf"
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))

    conf.write_text(f"[global]\nindex-url = {url}\ncert = {tmp_path / 'no-such-ca.pem'}\n")
    with pytest.raises(EnvironmentBuildError, match="(?s)certificate.*pip.conf"):  # unknown CA
        ensure_environment(make_spec("tls00", pip_packages=("dockyard-tls-pkg",)), env_cache)

    conf.write_text(f"[global]\nindex-url = {url}\ncert = {ca}\n")
    env = ensure_environment(make_spec("tls01", pip_packages=("dockyard-tls-pkg",)), env_cache)
    assert run_in(env.python, "import dockyard_tls_pkg as m; print(m.OK)") == "1"
    assert env.log_path is not None and f"trusting {ca}" in env.log_path.read_text()


def test_seed_era_pins_without_wheels_for_this_python_are_named(env_cache: Path) -> None:
    """The seed's CondaDependencies.create(conda_packages=['numpy==1.15.4', 'scikit-learn==0.19.1'])."""
    spec = make_spec("seedpins01", conda_packages=("numpy==1.15.4", "scikit-learn==0.19.1"))
    with pytest.raises(EnvironmentBuildError, match="no wheel fits Python") as caught:
        ensure_environment(spec, env_cache)
    assert caught.value.details["requirements"]  # numpy and/or scikit-learn, as uv reports
    assert set(caught.value.details["requirements"]) <= {"numpy==1.15.4", "scikit-learn==0.19.1"}
    assert not (env_cache / "seedpins01").exists()

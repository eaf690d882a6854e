"""pip configuration -> uv options (build/uvtool.py), and uv error parsing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.builders import uvtool
from dockyard.builders.conda import InstallPlan
from dockyard.builders.uvtool import (
    PipSettings,
    install_error,
    pip_config_files,
    read_pip_settings,
    uv_source_options,
)


@pytest.fixture(autouse=True)
def _fixed_uv_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uvtool, "uv_has_system_certs", lambda: True)


def test_config_files_follow_pips_order(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": "/a:/b", "PIP_CONFIG_FILE": "/c/pip.ini"}
    files = pip_config_files(env)
    assert files[:3] == [Path("/a/pip/pip.conf"), Path("/b/pip/pip.conf"), Path("/etc/pip.conf")]
    assert tmp_path / ".pip" / "pip.conf" in files
    assert tmp_path / ".config" / "pip" / "pip.conf" in files
    assert files[-1] == Path("/c/pip.ini")
    assert pip_config_files({"PIP_CONFIG_FILE": os.devnull}) == []


def test_read_settings_later_files_and_env_win(tmp_path: Path) -> None:
    first = tmp_path / "global.conf"
    first.write_text(
        "[global]\nindex-url = https://first/simple\nextra-index-url =\n"
        "  file:///opt/a/simple\n  file:///opt/b/simple\ncert = /etc/ca.pem\ntimeout = 5\n"
    )
    second = tmp_path / "user.conf"
    second.write_text(
        "[global]\ntrusted_host = h1 h2\n[install]\nindex-url = https://second/simple\n"
    )
    env = {"PIP_FIND_LINKS": "/opt/wheels /opt/more", "PIP_PROXY": "http://proxy:3128"}
    settings = read_pip_settings(env, [first, second, tmp_path / "missing.conf"])
    assert settings.index_url == "https://second/simple"
    assert settings.extra_index_urls == ["file:///opt/a/simple", "file:///opt/b/simple"]
    assert settings.find_links == ["/opt/wheels", "/opt/more"]
    assert settings.trusted_hosts == ["h1", "h2"]
    assert settings.cert == "/etc/ca.pem" and settings.proxy == "http://proxy:3128"
    assert settings.sources == [str(first), str(second), "PIP_FIND_LINKS", "PIP_PROXY"]


def test_env_index_url_overrides_files(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://file/simple\nno-index = false\n")
    settings = read_pip_settings(
        {"PIP_INDEX_URL": "https://env/simple", "PIP_NO_INDEX": "1"}, [conf]
    )
    assert settings.index_url == "https://env/simple" and settings.no_index


def test_unreadable_config_is_ignored(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("not an ini file [[[")
    assert read_pip_settings({}, [conf]).sources == [f"{conf} (unreadable, ignored)"]


def test_uv_options_merge_spec_first_and_skip_missing_locations(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    index = tmp_path / "simple"
    index.mkdir()
    pip = PipSettings(
        index_url="https://pip-index/simple",
        extra_index_urls=[index.as_uri(), "file:///does/not/exist/simple"],
        find_links=[str(wheels), str(tmp_path / "gone")],
        trusted_hosts=["pip-host"],
        sources=["/etc/pip.conf"],
    )
    plan = InstallPlan(
        index_url="https://spec-index/simple",
        extra_index_urls=["https://spec-extra/simple"],
        trusted_hosts=["spec-host"],
        no_index=False,
        pre=True,
    )
    args, env, notes = uv_source_options(plan, pip, {})
    assert args == [
        "--index-url", "https://spec-index/simple",
        "--extra-index-url", "https://spec-extra/simple",
        "--extra-index-url", index.as_uri(),
        "--index-strategy", "unsafe-best-match",
        "--find-links", str(wheels),
        "--allow-insecure-host", "spec-host",
        "--allow-insecure-host", "pip-host",
        "--prerelease", "allow",
    ]  # fmt: skip
    assert env == {"UV_SYSTEM_CERTS": "1"}
    assert any("/does/not/exist" in n and "skipped" in n for n in notes)
    assert any(str(tmp_path / "gone") in n for n in notes)
    assert any("/etc/pip.conf" in n for n in notes)


def test_pip_index_used_when_spec_has_none_and_single_index_keeps_uv_default() -> None:
    args, _env, _notes = uv_source_options(
        InstallPlan(), PipSettings(index_url="https://i/simple"), {}
    )
    assert args == ["--index-url", "https://i/simple"]


def test_cert_proxy_and_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("pem")
    pip = PipSettings(cert=str(ca), proxy="http://proxy:3128", no_index=True)
    args, env, _notes = uv_source_options(InstallPlan(), pip, {})
    assert args == ["--no-index"]
    assert env == {
        "SSL_CERT_FILE": str(ca),
        "UV_SYSTEM_CERTS": "1",
        "HTTPS_PROXY": "http://proxy:3128",
        "HTTP_PROXY": "http://proxy:3128",
    }
    # an existing proxy and TLS choice in the environment are left alone; old uv gets UV_NATIVE_TLS
    _a, env, _n = uv_source_options(InstallPlan(), pip, {"HTTPS_PROXY": "x", "UV_NATIVE_TLS": "0"})
    assert env == {"SSL_CERT_FILE": str(ca)}
    monkeypatch.setattr(uvtool, "uv_has_system_certs", lambda: False)
    _a, env, _n = uv_source_options(InstallPlan(), PipSettings(), {"REQUESTS_CA_BUNDLE": str(ca)})
    assert env == {"SSL_CERT_FILE": str(ca), "UV_NATIVE_TLS": "1"}


def test_missing_cert_file_is_not_passed(tmp_path: Path) -> None:
    _a, env, notes = uv_source_options(
        InstallPlan(), PipSettings(cert=str(tmp_path / "no.pem")), {}
    )
    assert "SSL_CERT_FILE" not in env and any("no.pem" in n for n in notes)


UNKNOWN = """Using Python 3.11.7 environment at: /x
error: No solution found when resolving dependencies
  cause: Because nonexistent-pkg-xyz was not found in the package registry and you require nonexistent-pkg-xyz, we can conclude that your requirements are unsatisfiable.
"""
PIN = """  × No solution found when resolving dependencies:
  ╰─▶ Because there is no version of six==99 and you require six==99, we can conclude that your requirements are unsatisfiable.
"""
CONFLICT = """error: No solution found when resolving dependencies
  cause: Because scikit-learn==1.5.0 depends on numpy>=1.19.5 and you require numpy==1.15.4, we can conclude that you require scikit-learn!=1.5.0.
"""


@pytest.mark.parametrize(
    ("output", "requirements", "named"),
    [
        (UNKNOWN, ["six", "nonexistent-pkg-xyz"], ["nonexistent-pkg-xyz"]),
        (PIN, ["six==99", "packaging"], ["six==99"]),
        (
            CONFLICT,
            ["numpy==1.15.4", "scikit-learn==1.5.0", "six"],
            ["numpy==1.15.4", "scikit-learn==1.5.0"],
        ),
        (UNKNOWN, ["Nonexistent_Pkg_XYZ>=1"], ["Nonexistent_Pkg_XYZ>=1"]),
    ],
)
def test_install_error_names_offending_requirements(
    output: str, requirements: list[str], named: list[str], tmp_path: Path
) -> None:
    lines = output.splitlines(keepends=True)
    error = install_error(lines, InstallPlan(requirements=requirements), tmp_path / "b.log")
    assert error.details["requirements"] == named
    text = str(error)
    for requirement in named:
        assert repr(requirement) in text
    assert "Because" in text and str(tmp_path / "b.log") in text
    assert error.step == "environment" and error.log_tail


def test_install_error_without_named_requirement_keeps_the_reason() -> None:
    error = install_error(
        ["error: Failed to fetch: https://x\n"], InstallPlan(requirements=["six"]), None
    )
    assert "Failed to fetch" in str(error) and error.details["requirements"] == []


def test_tls_and_network_failures_get_their_own_hint() -> None:
    tls = [
        "error: Failed to fetch: https://x/simple/six/\n",
        "  cause: invalid peer certificate: UnknownIssuer\n",
    ]
    assert "SSL_CERT_FILE" in str(install_error(tls, InstallPlan(requirements=["six"]), None))
    down = ["error: Failed to fetch: https://x/simple/six/\n", "  cause: client error (Connect)\n"]
    assert "HTTPS_PROXY" in str(install_error(down, InstallPlan(requirements=["six"]), None))


def test_failed_source_build_explains_missing_wheel() -> None:
    lines = [
        "error: Failed to build `scikit-learn==0.19.1`\n",
        "  cause: The build backend returned an error\n",
    ]
    error = install_error(
        lines, InstallPlan(requirements=["numpy==1.15.4", "scikit-learn==0.19.1"]), None
    )
    assert error.message.startswith("Cannot install 'scikit-learn==0.19.1': Failed to build")
    assert "no wheel fits Python" in error.message

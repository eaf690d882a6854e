"""Which versions can share a warm parent, and turning it off."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dockyard.server import contract
from dockyard.targets.base import DeploymentSpec
from dockyard.targets.supervisor.warm import FAST_RELOAD_ENV, enabled, warm_key

BASE = DeploymentSpec(
    name="svc",
    service_dir=Path("/srv/svc"),
    app_root=Path("/srv/svc/app-1"),
    python="/env/bin/python",
    env={
        contract.MODEL_DIR_ENV: "azureml-models/m/1",
        contract.ENTRY_SCRIPT_ENV: "score.py",
        contract.APP_ROOT_ENV: "/srv/svc/app-1",
        "MY_SETTING": "a",
    },
    port=5001,
)


def test_versions_of_the_same_environment_share_a_warm_parent() -> None:
    other_version = replace(
        BASE,
        app_root=Path("/srv/svc/app-2"),
        env={
            **BASE.env,
            contract.MODEL_DIR_ENV: "azureml-models/m/2",
            contract.APP_ROOT_ENV: "/srv/svc/app-2",
        },
    )
    assert warm_key(other_version) == warm_key(BASE)


def test_another_interpreter_or_setting_needs_another_warm_parent() -> None:
    assert warm_key(replace(BASE, python="/other/bin/python")) != warm_key(BASE)
    assert warm_key(replace(BASE, env={**BASE.env, "MY_SETTING": "b"})) != warm_key(BASE)


def test_fast_reload_is_on_unless_set_to_zero() -> None:
    assert enabled(BASE)
    assert not enabled(replace(BASE, env={**BASE.env, FAST_RELOAD_ENV: "0"}))

"""The seed guide's split pipeline and its ``Dockerfile.steps`` variant, with only the imports
changed (``from dockyard ...`` for ``from azureml.core ...``)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from dockyard import AciWebservice, ContainerImage, Image, Model, Webservice

from .conftest import test_sample

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_split_pipeline(
    ws: Any, project: Path, made: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    made["services"].append("mysvc")

    # fmt: off
    # 1. register the model
    model = Model.register(model_path="model.json", model_name="my_best_model", workspace=ws)

    # 2. build the image
    image_config = ContainerImage.image_configuration(runtime="python",
                                                      entry_script="score.py",
                                                      conda_file="myenv.yml")
    image = Image.create(name='myimg', models=[model], image_config=image_config, workspace=ws)
    image.wait_for_creation(show_output=True)

    # the build log, three ways
    print(image.image_build_log_uri)
    print(ws.images['myimg'].image_build_log_uri)
    for name, img in ws.images.items():  # noqa: B007
        print(img.name, img.version, img.image_build_log_uri)

    # 3. deploy the image as a service
    aci_config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)
    aci_service = Webservice.deploy_from_image(deployment_config=aci_config,
                                               image=image,
                                               name='mysvc',
                                               workspace=ws)
    aci_service.wait_for_deployment(show_output=True)
    print(ws.webservices['mysvc'].get_logs())
    # fmt: on

    out = capsys.readouterr().out
    uri = image.image_build_log_uri
    assert uri.startswith("file://") and uri.endswith("/build.log")
    assert f"myimg 1 {uri}" in out
    assert "Successfully built" in Path(uri[len("file://") :]).read_text()
    assert "Step 1/" in out  # show_output streamed the build
    assert "init done, factor 2" in out  # get_logs(): the script's print()
    assert image.creation_state == "Succeeded" and image.version == 1
    assert aci_service.state == "Healthy"
    assert aci_service.run(input_data=test_sample) == {"version": 1, "result": [110, 110]}
    assert type(Webservice(ws, "mysvc")).__name__ == "ContainerWebservice"

    host = ws.webservices["mysvc"]._target_status().details
    import docker

    config = docker.from_env().api.inspect_container(host["container"])["HostConfig"]
    assert config["NanoCpus"] == 1_000_000_000
    assert config["Memory"] == config["MemorySwap"] == 1024**3

    # a second build of the same name is version 2
    image2 = Image.create(name="myimg", models=[model], image_config=image_config, workspace=ws)
    image2.wait_for_creation()
    assert image2.version == 2 and ws.images["myimg"].version == 2
    assert [i.version for i in Image.list(ws, image_name="myimg")] == [2, 1]


def _debian_reachable() -> bool:
    try:
        socket.create_connection(("deb.debian.org", 80), timeout=5).close()
    except OSError:
        return False
    return True


def test_dockerfile_steps_variant(
    ws: Any, project: Path, made: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # The seed's step needs Debian's mirror (reached through the host's network during the
    # build). Offline, an equivalent step that needs no network is used instead.
    if _debian_reachable():
        Path("Dockerfile.steps").write_text("RUN apt-get update && apt-get -y install vim\n")
        check = ["vim", "--version"]
    else:
        Path("Dockerfile.steps").write_text("RUN echo 'set number' > /etc/vimrc.dockyard\n")
        check = ["cat", "/etc/vimrc.dockyard"]
    model = Model.register(model_path="model.json", model_name="my-best-model", workspace=ws)

    # fmt: off
    image_config = ContainerImage.image_configuration(runtime= "python",
                                 execution_script="score.py",
                                 conda_file="myenv.yml",
                                 docker_file="Dockerfile.steps")

    image = Image.create(name = "myimage",
                     models = [model],
                     image_config = image_config,
                     workspace = ws)
    # Print the location of the image in the repository
    print(image.image_location)
    # fmt: on

    image.wait_for_creation()
    out = capsys.readouterr().out
    assert out.strip() == image.image_location
    assert image.image_location.endswith("/myimage:1")
    import docker

    result = docker.from_env().containers.run(image.image_location, check, remove=True)
    assert result

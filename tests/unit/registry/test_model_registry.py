"""Model registration, lookup, filters, download, tags, delete, get_model_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard import Model, Workspace
from dockyard.errors import (
    ConflictError,
    IntegrityError,
    ModelNotFoundError,
    ValidationError,
    WebserviceException,
)
from dockyard.store.schema import ServiceRow


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.create("models", path=tmp_path / "ws")


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "model.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"pickled weights")
    return path


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    root = tmp_path / "src" / "outputs"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("A")
    (root / "sub" / "b.bin").write_bytes(b"B" * 100)
    return root


def _corrupt(path: Path) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"!")


def test_register_a_file_gets_versions_1_2_3(ws: Workspace, model_file: Path) -> None:
    m1 = Model.register(ws, model_path=str(model_file), model_name="diabetes", tags={"k": "v"})
    m2 = Model.register(ws, str(model_file), "diabetes", description="second")
    assert (m1.name, m1.version, m1.id) == ("diabetes", 1, "diabetes:1")
    assert m2.version == 2 and m2.description == "second"
    assert [f.path for f in m1.files] == ["model.pkl"]
    assert Model(ws, "diabetes").version == 2
    assert Model(ws, "diabetes", version=1).tags == {"k": "v"}
    assert Model(ws, id="diabetes:1") == m1
    assert ws.models["diabetes"].version == 2 and list(ws.models) == ["diabetes"]


def test_a_folder_keeps_its_name_and_tree(
    ws: Workspace, model_folder: Path, tmp_path: Path
) -> None:
    m = Model.register(ws, model_folder, "folder-model")
    assert [f.path for f in m.files] == ["outputs/a.txt", "outputs/sub/b.bin"]
    assert m.is_folder and m.file_count == 2 and m.size == 101
    out = m.download(tmp_path / "dl")
    assert out == str(tmp_path / "dl" / "outputs")
    assert (tmp_path / "dl" / "outputs" / "sub" / "b.bin").read_bytes() == b"B" * 100
    with pytest.raises(ConflictError, match="exist_ok"):
        m.download(tmp_path / "dl")
    assert m.download(tmp_path / "dl", exist_ok=True) == out


def test_child_paths_pick_files_and_refuse_traversal(ws: Workspace, model_folder: Path) -> None:
    m = Model.register(ws, model_folder, "picked", child_paths=["sub"])
    assert [f.path for f in m.files] == ["outputs/sub/b.bin"]
    with pytest.raises(ValidationError) as info:
        Model.register(ws, model_folder, "picked", child_paths=["../outside"])
    assert "'../outside'" in str(info.value) and "traversal" in str(info.value)
    assert Model(ws, "picked").version == 1


def test_list_with_azure_tag_filters_dicts_properties_and_latest(
    ws: Workspace, model_file: Path
) -> None:
    Model.register(ws, model_file, "a", tags={"k": "v", "stage": "dev"}, properties={"p": "1"})
    Model.register(ws, model_file, "a", tags={"k": "other"})
    Model.register(ws, model_file, "b", tags={"k": "v"})
    ids = lambda models: [m.id for m in models]  # noqa: E731
    assert ids(Model.list(ws)) == ["a:2", "a:1", "b:1"]
    assert ids(Model.list(ws, tags=[["k", "v"]])) == ["a:1", "b:1"]
    assert ids(Model.list(ws, tags=["stage"])) == ["a:1"]
    assert ids(Model.list(ws, tags={"k": "other"})) == ["a:2"]
    assert ids(Model.list(ws, properties=[["p", "1"]])) == ["a:1"]
    assert ids(Model.list(ws, latest=True)) == ["a:2", "b:1"]
    assert ids(Model.list(ws, name="b")) == ["b:1"]
    assert Model(ws, "a", tags=[["k", "v"]]).version == 1
    with pytest.raises(ValidationError, match=r"\['k', 'v', 'x'\]"):
        Model.list(ws, tags=[["k", "v", "x"]])


def test_tags_and_properties_are_updated_in_the_registry(ws: Workspace, model_file: Path) -> None:
    m = Model.register(ws, model_file, "tagged", tags={"a": "1"}, properties={"p": "x"})
    m.add_tags({"b": "2"})
    m.remove_tags(["a"])
    m.add_properties({"q": "y"})
    again = Model(ws, "tagged")
    assert again.tags == {"b": "2"} and again.properties == {"p": "x", "q": "y"}
    with pytest.raises(ValidationError, match="'p'"):
        m.add_properties({"p": "changed"})


def test_serialize_round_trip(ws: Workspace, model_file: Path) -> None:
    m = Model.register(
        ws, model_file, "ser", tags={"t": "1"}, model_framework=Model.Framework.SCIKITLEARN
    )
    payload = m.serialize()
    assert payload["id"] == "ser:1" and payload["framework"] == "ScikitLearn"
    assert Model.deserialize(ws, payload) == m


def test_identical_content_adds_no_blob_bytes(ws: Workspace, model_folder: Path) -> None:
    Model.register(ws, model_folder, "dedup")
    before = ws.blobs.size_on_disk()
    Model.register(ws, model_folder, "dedup")
    Model.register(ws, model_folder, "dedup-copy")
    assert ws.blobs.size_on_disk() == before
    assert Model(ws, "dedup").version == 2


def test_a_corrupted_blob_fails_verify_and_download(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    m = Model.register(ws, model_file, "fragile")
    assert ws.verify().ok
    _corrupt(ws.blobs.blob_path(m.files[0].sha256))
    report = ws.verify()
    assert not report.ok and report.damaged == [m.files[0].sha256]
    with pytest.raises(IntegrityError, match="damaged"):
        m.download(tmp_path / "dl")
    assert not (tmp_path / "dl" / "model.pkl").exists()


def test_delete_is_refused_while_a_service_uses_the_model(ws: Workspace, model_file: Path) -> None:
    m = Model.register(ws, model_file, "used")
    with ws.store.session() as s:
        s.add(ServiceRow(name="svc-one", target="local", model_ids=["used:1"]))
    with pytest.raises(ConflictError, match="svc-one"):
        m.delete()
    with ws.store.session() as s:
        s.query(ServiceRow).delete()
    m.delete()
    with pytest.raises(ModelNotFoundError):
        Model(ws, "used")


def test_missing_models_raise_what_v1_code_catches(ws: Workspace, model_file: Path) -> None:
    Model.register(ws, model_file, "there")
    with pytest.raises(WebserviceException, match="'absent'"):
        Model(ws, "absent")
    with pytest.raises(ModelNotFoundError, match=r"existing versions: \[1\]"):
        Model(ws, "there", version=7)
    with pytest.raises(ValidationError, match="'there'"):
        Model(ws, id="there")


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a/b", "../up", "x" * 256])
def test_bad_model_names_are_refused_naming_the_input(
    ws: Workspace, model_file: Path, name: str
) -> None:
    with pytest.raises(ValidationError) as info:
        Model.register(ws, model_file, name)
    assert repr(name) in str(info.value)


def test_missing_path_and_empty_folder_are_refused_and_nothing_is_written(
    ws: Workspace, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="nope.pkl.*does not exist"):
        Model.register(ws, tmp_path / "nope.pkl", "m")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValidationError, match="empty.*no files"):
        Model.register(ws, empty, "m")
    assert Model.list(ws) == [] and ws.blobs.size_on_disk() == 0


def test_a_symlink_pointing_outside_the_folder_is_refused(ws: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the model")
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine")
    (folder / "inside-link").symlink_to(folder / "ok.txt")
    m = Model.register(ws, folder, "links-ok")
    assert [f.path for f in m.files] == ["linked/inside-link", "linked/ok.txt"]
    (folder / "escape").symlink_to(secret)
    with pytest.raises(ValidationError) as info:
        Model.register(ws, folder, "links-bad")
    assert "escape" in str(info.value) and "outside" in str(info.value)
    with pytest.raises(ModelNotFoundError):
        Model(ws, "links-bad")


def test_a_tampered_record_with_dotdot_cannot_write_outside_the_target(
    ws: Workspace, model_file: Path, tmp_path: Path
) -> None:
    m = Model.register(ws, model_file, "tampered")
    from dockyard.store.schema import ModelFileRow

    with ws.store.session() as s:
        s.query(ModelFileRow).update({ModelFileRow.path: "../../evil.pkl"})
    with pytest.raises(ValidationError, match=r"'\.\./\.\./evil\.pkl'"):
        Model(ws, "tampered").download(tmp_path / "dl" / "deep")
    assert not (tmp_path / "evil.pkl").exists()
    del m


def test_get_model_path_outside_a_deployment(
    ws: Workspace, model_folder: Path, model_file: Path
) -> None:
    Model.register(ws, model_folder, "tree")
    Model.register(ws, model_file, "single")
    tree = Path(Model.get_model_path("tree", _workspace=ws))
    assert tree.name == "outputs" and (tree / "sub" / "b.bin").read_bytes() == b"B" * 100
    single = Path(Model.get_model_path("single", version=1, _workspace=ws))
    assert single.read_bytes() == b"pickled weights"
    assert not os.access(single, os.W_OK) or os.geteuid() == 0
    assert single.stat().st_mode & 0o222 == 0
    assert Model.get_model_path("single", _workspace=ws) == str(single)  # laid out once


def test_get_model_path_uses_the_configured_workspace(workdir: Path, model_file: Path) -> None:
    ws = Workspace.create("cfg", path=workdir / "ws")
    ws.write_config()
    Model.register(ws, model_file, "viaconfig")
    assert Path(Model.get_model_path("viaconfig")).read_bytes() == b"pickled weights"


def test_get_model_path_inside_a_deployment_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = tmp_path / "app"
    (app / "azureml-models" / "m" / "1").mkdir(parents=True)
    (app / "azureml-models" / "m" / "2").mkdir(parents=True)
    (app / "azureml-models" / "m" / "2" / "model.pkl").write_text("v2")
    monkeypatch.setenv("AML_APP_ROOT", str(app))
    assert Model.get_model_path("m") == str(app / "azureml-models" / "m" / "2" / "model.pkl")
    with pytest.raises(ModelNotFoundError) as info:
        Model.get_model_path("other")
    assert str(app / "azureml-models" / "other") in str(info.value)
    assert "m/2/model.pkl" in str(info.value)

"""The content-addressed blob store."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from dockyard.errors import IntegrityError, ValidationError
from dockyard.store.blobs import BlobStore


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def _corrupt(path: Path) -> None:
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"X")


def test_put_names_the_blob_by_its_sha256_and_stores_it_read_only(
    store: BlobStore, tmp_path: Path
) -> None:
    src = tmp_path / "f.bin"
    src.write_bytes(b"abc" * 1000)
    sha, size = store.put_file(src)
    assert sha == hashlib.sha256(b"abc" * 1000).hexdigest() and size == 3000
    blob = store.path(sha)
    assert blob.read_bytes() == b"abc" * 1000
    assert not blob.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert list(store.tmp.iterdir()) == []


def test_identical_content_is_stored_once(store: BlobStore, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"same" * 10_000)
    b.write_bytes(b"same" * 10_000)
    refs = store.put_files([a, b])
    before = store.size_on_disk()
    store.put_file(a)
    assert refs[0] == refs[1] and store.size_on_disk() == before == 40_000


def test_large_files_stream_in_chunks(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "big"
    with open(src, "wb") as f:
        for i in range(5):
            f.write(bytes([i]) * (1 << 20) + b"tail")
    sha, size = store.put_file(src)
    assert size == 5 * ((1 << 20) + 4)
    assert sha == hashlib.sha256(src.read_bytes()).hexdigest()


def test_a_damaged_blob_is_refused_on_read_and_reported_by_verify(
    store: BlobStore, tmp_path: Path
) -> None:
    sha, size = store.put_bytes(b"precious model bytes")
    _corrupt(store.blob_path(sha))
    with pytest.raises(IntegrityError, match=sha):
        store.path(sha)
    with pytest.raises(IntegrityError, match="damaged"), store.open(sha) as f:
        f.read()
    with pytest.raises(IntegrityError):
        store.copy_to(sha, tmp_path / "out" / "copy")
    assert not (tmp_path / "out" / "copy").exists()
    report = store.verify({sha: size})
    assert not report.ok and report.damaged == [sha]


def test_storing_the_same_content_again_repairs_a_truncated_blob(
    store: BlobStore, tmp_path: Path
) -> None:
    sha, size = store.put_bytes(b"0123456789")
    blob = store.blob_path(sha)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"01")
    store.put_bytes(b"0123456789")
    assert store.verify({sha: size}).ok


def test_verify_reports_missing_and_unreferenced_blobs(store: BlobStore) -> None:
    kept, _ = store.put_bytes(b"kept")
    report = store.verify({"a" * 64: 3})
    assert report.missing == ["a" * 64] and report.unreferenced == [kept] and not report.ok


def test_stale_temporary_files_are_not_damage_and_can_be_cleaned(store: BlobStore) -> None:
    store.ensure()
    (store.tmp / "999999999-dead.part").write_bytes(b"partial")
    report = store.verify({})
    assert report.ok and report.stale_temp == ["999999999-dead.part"]
    assert store.clean_temp() == 1 and store.verify({}).stale_temp == []


def test_unreferenced_blobs_are_removed_only_after_the_grace_period(store: BlobStore) -> None:
    sha, _ = store.put_bytes(b"orphan")
    assert store.remove_unreferenced(set(), grace_seconds=3600) == 0
    os.utime(store.blob_path(sha), (1, 1))
    assert store.remove_unreferenced(set(), grace_seconds=3600) == 1


def test_a_blob_id_that_is_not_a_sha256_is_rejected(store: BlobStore) -> None:
    with pytest.raises(ValidationError, match=r"\.\./\.\./etc/passwd"):
        store.path("../../etc/passwd")


def test_link_to_shares_the_bytes_without_copying(store: BlobStore, tmp_path: Path) -> None:
    sha, _ = store.put_bytes(b"weights")
    dest = tmp_path / "models" / "m" / "1" / "w.bin"
    store.link_to(sha, dest)
    assert dest.read_bytes() == b"weights"
    assert os.path.samefile(dest, store.blob_path(sha))

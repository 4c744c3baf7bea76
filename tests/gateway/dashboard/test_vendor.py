"""The chart library's fetch: only the pinned tarball is accepted, and a second run is a no-op."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from papertape.gateway.dashboard import vendor


def tarball(build: bytes = b"window.LightweightCharts = {};") -> bytes:
    """A package tarball shaped like npm's, holding ``build`` as the standalone build."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo(vendor.MEMBER)
        info.size = len(build)
        archive.addfile(info, io.BytesIO(build))
    return out.getvalue()


def test_the_integrity_is_the_npm_sri_form_of_sha512() -> None:
    # The SRI string of b"" (sha512 of the empty string, base64): a fixed point to check against.
    assert vendor.integrity_of(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )
    assert vendor.INTEGRITY.startswith("sha512-")


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    with pytest.raises(vendor.IntegrityError, match="expected sha512-"):
        vendor.ensure(tmp_path, fetch=tarball)
    assert list(tmp_path.iterdir()) == []


def test_the_pinned_tarball_is_unpacked_once_and_a_second_run_fetches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tarball(b"window.LightweightCharts = {pinned: true};")
    fetched: list[int] = []

    def fetch() -> bytes:
        fetched.append(1)
        return data

    monkeypatch.setattr(vendor, "INTEGRITY", vendor.integrity_of(data))
    assert vendor.ensure(tmp_path, fetch=fetch) is True
    assert (tmp_path / vendor.BUILD).read_bytes() == b"window.LightweightCharts = {pinned: true};"
    assert vendor.installed(tmp_path)
    assert vendor.ensure(tmp_path, fetch=fetch) is False
    assert fetched == [1]


def test_a_stamp_of_another_pin_fetches_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tarball()
    monkeypatch.setattr(vendor, "INTEGRITY", vendor.integrity_of(data))
    (tmp_path / vendor.BUILD).write_text("an older build")
    (tmp_path / vendor.STAMP).write_text("sha512-older")
    assert not vendor.installed(tmp_path)
    assert vendor.ensure(tmp_path, fetch=lambda: data) is True
    assert (tmp_path / vendor.BUILD).read_bytes() == b"window.LightweightCharts = {};"


def test_a_tarball_without_the_standalone_build_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        info = tarfile.TarInfo("package/package.json")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"{}"))
    data = out.getvalue()
    monkeypatch.setattr(vendor, "INTEGRITY", vendor.integrity_of(data))
    with pytest.raises(vendor.IntegrityError, match="no package/dist/"):
        vendor.ensure(tmp_path, fetch=lambda: data)
    assert not vendor.installed(tmp_path)

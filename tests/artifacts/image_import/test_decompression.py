"""image_decompression: Glance's formats, the compressed container, the
bound on expansion and nothing left behind."""

import gzip
import lzma
import os
import zipfile

import pytest

from artifacts import errors
from artifacts.image_import import decompression
from artifacts.image_import.decompression import Decompression

DATA = os.urandom(100_000) + b"\0" * 400_000


class Work:
    """The part of a Workspace a plugin uses."""

    def __init__(self, tmp_path, path):
        self.dir, self.path, self.changed = tmp_path, str(path), False

    def new_file(self, suffix):
        return str(self.dir / ("out." + suffix))

    def replace(self, path):
        self.path, self.changed = path, True


def _image(container="bare"):
    return {"id": "i", "properties": {"container_format": container,
                                      "disk_format": "raw"}}


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


@pytest.mark.parametrize("kind", ["gzip", "zip", "xz"])
def test_decompresses_each_format(tmp_path, kind):
    src = tmp_path / "staged"
    if kind == "gzip":
        src.write_bytes(gzip.compress(DATA))
    elif kind == "xz":
        src.write_bytes(lzma.compress(DATA))
    else:
        _zip(src, {"disk.img": DATA})
    assert decompression.detect(str(src)) == kind
    work = Work(tmp_path, src)
    values = Decompression().run(work, _image(), lambda n: None)
    assert values == {"size": len(DATA)}
    assert work.changed and open(work.path, "rb").read() == DATA


def test_uncompressed_and_compressed_container_pass_unchanged(tmp_path):
    plain = tmp_path / "plain"
    plain.write_bytes(DATA)
    work = Work(tmp_path, plain)
    assert Decompression().run(work, _image(), lambda n: None) is None
    packed = tmp_path / "packed"
    packed.write_bytes(gzip.compress(DATA))
    work = Work(tmp_path, packed)
    # Glance: a 'compressed' container is meant to stay compressed.
    assert Decompression().run(work, _image("compressed"),
                               lambda n: None) is None
    assert not work.changed and work.path == str(packed)


def test_zip_with_two_files_is_refused(tmp_path):
    src = tmp_path / "two.zip"
    _zip(src, {"a": b"1", "b": b"2"})
    with pytest.raises(errors.Invalid, match="more than one file"):
        Decompression().run(Work(tmp_path, src), _image(), lambda n: None)
    assert os.listdir(tmp_path) == ["two.zip"]


def test_lha_is_refused_as_glance_without_lhafile(tmp_path):
    src = tmp_path / "x.lzh"
    src.write_bytes(b"\x00\x00-lh5-" + b"\0" * 32)
    with pytest.raises(errors.Invalid, match="No lhafile available"):
        Decompression().run(Work(tmp_path, src), _image(), lambda n: None)


def test_a_bomb_stops_at_the_bound_and_leaves_nothing(tmp_path):
    src = tmp_path / "bomb.gz"
    with gzip.open(src, "wb") as out:
        for _ in range(64):             # 64 MiB of zeros, ~64 KiB packed
            out.write(b"\0" * (1 << 20))
    assert os.path.getsize(src) < 200_000
    beats = []
    with pytest.raises(errors.RequestTooLarge, match="larger than 8388608"):
        Decompression(max_bytes=8 << 20).run(Work(tmp_path, src), _image(),
                                             beats.append)
    assert sorted(os.listdir(tmp_path)) == ["bomb.gz"]
    assert beats and beats[-1] <= 8 << 20


def test_corrupt_data_is_invalid_and_leaves_nothing(tmp_path):
    src = tmp_path / "bad.gz"
    src.write_bytes(gzip.compress(DATA)[:5000])
    with pytest.raises(errors.Invalid, match="could not be decompressed"):
        Decompression().run(Work(tmp_path, src), _image(), lambda n: None)
    assert os.listdir(tmp_path) == ["bad.gz"]


def test_concatenated_xz_streams_with_padding_are_read_whole(tmp_path):
    src = tmp_path / "staged"
    src.write_bytes(lzma.compress(DATA[:1000]) + b"\0" * 8
                    + lzma.compress(DATA[1000:]))
    dest = tmp_path / "out"
    assert decompression.decompress(str(src), str(dest), "xz") == len(DATA)
    assert dest.read_bytes() == DATA


def test_xz_whose_dictionary_exceeds_the_memory_limit_is_refused(
        tmp_path, monkeypatch):
    """The header's dictionary size decides the decoder's memory: over
    XZ_MEMLIMIT it is a 400 that says what to do, and nothing is left."""
    monkeypatch.setattr(decompression, "XZ_MEMLIMIT", 1 << 20)
    src = tmp_path / "staged"
    src.write_bytes(lzma.compress(DATA, filters=[
        {"id": lzma.FILTER_LZMA2, "dict_size": 8 << 20}]))
    work = Work(tmp_path, src)
    with pytest.raises(errors.Invalid, match="more than 1 MiB of memory"):
        Decompression().run(work, _image(), lambda n: None)
    assert not work.changed and os.listdir(tmp_path) == ["staged"]


def test_every_xz_preset_fits_the_memory_limit():
    """xz -9 (the largest preset) decodes within XZ_MEMLIMIT."""
    data = lzma.compress(b"a" * 10, preset=9)
    decoder = lzma.LZMADecompressor(
        lzma.FORMAT_XZ, memlimit=decompression.XZ_MEMLIMIT)
    assert decoder.decompress(data) == b"a" * 10


def test_truncated_xz_is_invalid(tmp_path):
    src = tmp_path / "staged"
    src.write_bytes(lzma.compress(DATA)[:-20])
    with pytest.raises(errors.Invalid, match="could not be decompressed"):
        decompression.decompress(str(src), str(tmp_path / "out"), "xz")
    assert not (tmp_path / "out").exists()


def test_zip_member_compressed_with_lzma_is_refused(tmp_path):
    """Python decodes a ZIP's LZMA member with no memory limit: refused,
    naming the compressions that are accepted."""
    src = tmp_path / "staged"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("disk.img", DATA)
    with pytest.raises(errors.Invalid, match="compressed with LZMA"):
        Decompression().run(Work(tmp_path, src), _image(), lambda n: None)
    assert os.listdir(tmp_path) == ["staged"]


def test_zip_member_compressed_with_bzip2_is_decompressed(tmp_path):
    src = tmp_path / "staged"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_BZIP2) as archive:
        archive.writestr("disk.img", DATA)
    work = Work(tmp_path, src)
    assert Decompression().run(work, _image(), lambda n: None) == {
        "size": len(DATA)}
    assert open(work.path, "rb").read() == DATA

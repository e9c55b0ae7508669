"""CheckedStore and the interface helpers of ``artifacts.stores``: what the
wrapper does that the conformance suite cannot show with a real driver
(pass-through of driver specifics, a driver missing interface members,
redaction, ownership lookups).  The wrapper's checks on every real driver
run in ``conformance.py``."""

import pytest

from artifacts import errors
from artifacts import stores
from artifacts.stores.base import CheckedReader, CheckedStore
from tests.artifacts.stores import faulty  # noqa: F401  (registers "faulty")


@pytest.fixture
def fs(tmp_path):
    return stores.create("filesystem", "local",
                         {"datadir": str(tmp_path / "d")})


def test_create_wraps_once(fs):
    assert isinstance(fs, CheckedStore)
    assert stores.create("faulty", "f", {"driver": fs}).driver.inner \
        is fs.driver
    stores.register("prewrapped", lambda name, options: fs)
    try:
        assert stores.create("prewrapped", "x", {}) is fs
    finally:
        stores._DRIVERS.pop("prewrapped")


def test_driver_missing_members_is_invalid():
    class Half:
        name, scheme = "half", "half"

        def open(self, location, offset=0, length=None):
            pass
    stores.register("half", lambda name, options: Half())
    try:
        with pytest.raises(errors.Invalid) as info:
            stores.create("half", "h", {})
    finally:
        stores._DRIVERS.pop("half")
    assert "read_only" in info.value.message and "owns" in info.value.message


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(errors.Invalid) as info:
        stores.create("tape", "t", {})
    for kind in ("filesystem", "s3", "database", "http", "foreign"):
        assert kind in info.value.message


def test_driver_specifics_pass_through(fs):
    loc = fs.writer("k").commit()
    assert fs.datadir == fs.driver.datadir
    assert fs.cleanup_stale_temp(0) == 0
    reader = fs.open(loc)
    assert isinstance(reader, CheckedReader)
    # fileno() for sendfile, as gunicorn's FileWrapper looks it up.
    assert hasattr(reader, "fileno") and reader.fileno() >= 0
    reader.close()
    with pytest.raises(AttributeError):
        fs.no_such_attribute
    assert "FilesystemStore" in repr(fs)


def test_committed_location_must_be_a_string(fs, monkeypatch):
    w = fs.writer("k")
    monkeypatch.setattr(w._inner, "commit", lambda: None)
    with pytest.raises(errors.StoreUnavailable):
        w.commit()


def test_redact():
    assert stores.redact("s3://AK:se/cr@t@host/b/k") == "s3://***@host/b/k"
    assert stores.redact("swift+https://t:u:k@h/v1/c/o") == \
        "swift+https://***@h/v1/c/o"
    assert stores.redact("file:///a@b/c") == "file:///a@b/c"
    assert stores.redact("rbd://fsid/pool/img/snap") == \
        "rbd://fsid/pool/img/snap"


def test_scheme_of():
    assert stores.scheme_of("S3+HTTPS://x") == "s3+https"
    assert stores.scheme_of("/no/scheme") == ""
    assert stores.scheme_of("1x://bad") == ""
    assert stores.scheme_of(None) == ""


def test_owner_of_first_owner_wins(tmp_path):
    a = stores.create("filesystem", "a", {"datadir": str(tmp_path / "a"),
                                          "allowed_roots": [str(tmp_path)]})
    b = stores.create("filesystem", "b", {"datadir": str(tmp_path / "b")})
    loc = b.writer("x").commit()
    assert stores.owner_of([a, b], loc) is a
    assert stores.owner_of([b, a], loc) is b
    assert stores.owner_of({}, loc) is None
    assert stores.owner_of([a, b], None) is None


@pytest.mark.parametrize("offset,length", [(0, None), (5, 0), (10 ** 12, 1)])
def test_check_range_accepts(offset, length):
    stores.check_range(offset, length)

"""The plugins' work directory: the staged file used in place or copied,
files removed whatever happens, dead processes' leftovers swept."""

import os
import subprocess
import sys

import pytest

from artifacts import image_import, instance
from artifacts.image_import import Plugins, Workspace


class _Store:
    def __init__(self, files, local):
        self.files, self.local = files, local

    def __getattr__(self, name):
        if name == "local_path" and self.local:
            return lambda url: self.files[url]
        raise AttributeError(name)


class _Stores:
    def __init__(self, local):
        self.store = _Store({"file:///x": None}, local)

    def driver(self, name):
        return self.store


def test_filesystem_staging_is_read_in_place(tmp_path):
    staged = tmp_path / "staged"
    staged.write_bytes(b"abc")
    stores = _Stores(local=True)
    stores.store.files["file:///x"] = str(staged)
    blob = {"locations": [{"store": "staging", "url": "file:///x"}]}
    with Workspace(str(tmp_path / "work"), "task") as work:
        work.source(stores, blob, lambda n: None)
        assert work.path == str(staged)
        out = work.new_file("raw")
        open(out, "wb").write(b"xyz")
        work.replace(out)
        assert b"".join(work.chunks(lambda n: None)) == b"xyz"
    assert staged.read_bytes() == b"abc"      # never changed
    assert not os.path.exists(work.dir)


def test_other_stores_are_copied_and_the_copy_removed(tmp_path, monkeypatch):
    class Reader:
        def __init__(self):
            self.parts = [b"12", b"34", b""]

        def read(self, n):
            return self.parts.pop(0)

        def close(self):
            pass
    monkeypatch.setattr(image_import, "open_locations",
                        lambda stores, blob: Reader())
    blob = {"locations": [{"store": "s3", "url": "s3://b/k"}]}
    with pytest.raises(RuntimeError):
        with Workspace(str(tmp_path), "task") as work:
            work.source(_Stores(local=False), blob, lambda n: None)
            assert open(work.path, "rb").read() == b"1234"
            raise RuntimeError("a plugin failed")
    assert os.listdir(tmp_path) == [os.path.basename(
        os.path.dirname(work.dir))]
    assert not os.path.exists(work.dir)


def test_sweep_removes_only_dead_processes_directories(tmp_path):
    proc = subprocess.run([sys.executable, "-c",
                           "from artifacts import instance;"
                           "print(instance.current())"],
                          capture_output=True, text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=os.getcwd()))
    dead = proc.stdout.strip().replace("/", "+")
    alive = instance.current().replace("/", "+")
    for name in (dead, alive):
        os.makedirs(tmp_path / name / "task")
    assert image_import.sweep(str(tmp_path)) == 1
    assert os.listdir(tmp_path) == [alive]
    assert image_import.sweep(str(tmp_path / "missing")) == 0


def test_unknown_plugin_names_are_ignored_like_glance(caplog):
    plugins = Plugins(["no_op", "bogus"])
    assert not plugins.work and "bogus" in caplog.text

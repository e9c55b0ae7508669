"""Glance's image import plugins (``[image_import_opts]
image_import_plugins``), run over an image's staged data before it is
imported into the stores, in the configured order.

Glance applies them to every import method but copy-image: glance-direct,
web-download and glance-download.  ``image_conversion``
(``conversion.py``) and ``image_decompression`` (``decompression.py``)
work on a file: ``Plugins.run`` gives them the staged data as one
(``Workspace``: the staging store's own file when it is a filesystem
store, else a streamed copy in the work directory), each may replace it
with a new file and returns the image properties that change with it;
when any did, the result is streamed back into the staging store as the
image's new staged data, in place of the old one, with those properties
(``DataService.upload(restage=...)``), so the import that follows hashes,
inspects and stores the converted bytes.  ``inject_image_metadata``
(``injection.py``) is decided in the request (it depends on the caller's
roles) and written with the import's task.  ``no_op`` does nothing, as in
Glance.

Work files live in ``<work_dir>/<process>/<task id>/`` and are removed
when the plugins end, whatever the outcome; ``sweep`` removes what a dead
process of this host left (run before each task's plugins and at
``glare serve`` start).  Nothing is ever held in memory.
"""

import logging
import os
import shutil
import uuid

from artifacts import errors, instance
from artifacts.image_import.conversion import Conversion  # noqa: F401
from artifacts.image_import.decompression import Decompression  # noqa
from artifacts.image_import.injection import Injection  # noqa: F401
from artifacts.stores.placement import open_locations

LOG = logging.getLogger(__name__)

KNOWN = ("image_conversion", "image_decompression", "inject_image_metadata",
         "no_op")
BLOCK = 1 << 20


def _holder_dir(holder):
    return holder.replace("/", "+")


def sweep(work_dir):
    """Remove the work files of dead processes of this host; how many
    process directories went."""
    try:
        entries = list(os.scandir(work_dir))
    except FileNotFoundError:
        return 0
    removed = 0
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and \
                instance.is_dead(entry.name.replace("+", "/")):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


class Workspace:
    """The file the plugins work on (``path``) and the directory of new
    ones; removed as a whole when the block ends."""

    def __init__(self, work_dir, task_id):
        self.dir = os.path.join(work_dir, _holder_dir(instance.current()),
                                task_id)
        self.path = None
        self.changed = False

    def __enter__(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, mode=0o700)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_file(self, suffix):
        return os.path.join(self.dir, "%s.%s" % (uuid.uuid4().hex, suffix))

    def replace(self, path):
        """``path`` (a file of this workspace) is the data from now on."""
        if self.changed:
            os.unlink(self.path)
        self.path, self.changed = path, True

    def source(self, stores, blob, beat):
        """Point ``path`` at the staged data of ``blob``: the staging
        store's file itself when it has one (only read, never changed),
        else a streamed copy."""
        for loc in blob["locations"]:
            local = getattr(stores.driver(loc["store"]), "local_path", None) \
                if loc.get("store") else None
            if local is not None:
                self.path = local(loc["url"])
                return
        self.path = os.path.join(self.dir, "staged")
        reader = open_locations(stores, blob)
        total = 0
        try:
            with open(self.path, "xb") as out:
                while True:
                    block = reader.read(BLOCK)
                    if not block:
                        break
                    out.write(block)
                    total += len(block)
                    beat(total)
        finally:
            reader.close()

    def chunks(self, beat):
        """The current file in blocks, heartbeating."""
        total = 0
        with open(self.path, "rb") as src:
            while True:
                block = src.read(BLOCK)
                if not block:
                    return
                total += len(block)
                beat(total)
                yield block


class Plugins:
    """The configured plugins; see the module docstring."""

    def __init__(self, names=(), work_dir=None, conversion=None,
                 decompression=None, injection=None):
        self.work_dir = work_dir
        self.file_plugins = []
        self.injection = None
        for name in names:
            if name == "image_conversion":
                self.file_plugins.append(conversion or Conversion())
            elif name == "image_decompression":
                self.file_plugins.append(decompression or Decompression())
            elif name == "inject_image_metadata":
                self.injection = injection or Injection()
            elif name != "no_op":
                LOG.warning("[image_import_opts] image_import_plugins: no "
                            "plugin %r; ignored (known: %s)", name,
                            ", ".join(KNOWN))

    def injected(self, roles):
        """Properties to write with a new import task of a caller with
        ``roles``."""
        if self.injection is None:
            return {}
        return self.injection.properties_for(roles)

    @property
    def work(self):
        """True when imports have file plugins to run."""
        return bool(self.file_plugins)

    def run(self, engine, atype, image_id, task_id, beat, ctx):
        """Run the file plugins over the staged data of ``image_id`` (in
        its staged status) and restage their result; raises what a plugin
        refuses (the caller fails the import)."""
        if not self.file_plugins:
            return
        sweep(self.work_dir)
        image = engine.get(ctx, atype, image_id)
        blobs = [b for b in image["blobs"] if b["field"] == "staging"
                 and b["status"] == "active"]
        if not blobs:
            raise errors.Conflict("Image %s has no staged data to import."
                                  % image_id)
        values = {}
        with Workspace(self.work_dir, task_id) as work:
            work.source(engine.stores, blobs[0], beat)
            for plugin in self.file_plugins:
                props = dict(image["properties"], **values)
                values.update(plugin.run(work, dict(image, properties=props),
                                         beat) or {})
            if work.changed:
                engine.data.upload(ctx, atype, image_id, "staging",
                                   work.chunks(beat), restage=values)

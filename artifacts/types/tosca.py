"""TOSCA templates and VNF packages (CSAR archives, unpacked on upload)."""

import contextlib
import os
import shutil
import tempfile
import uuid

from artifacts import archive
from artifacts.types import register
from artifacts.types.base import Field, artifact_type, checks_fields

MIB = 1024 * 1024

TOSCA_TEMPLATES = register(artifact_type("tosca_templates", {
    "description": Field("string", max_length=4096),
    "template_format": Field("string", allowed=("yaml", "json"),
                             default="yaml", nullable=False),
    "template": Field("blob", mutable=False, required_on_activate=True,
                      max_size=10 * MIB),
}, noun="TOSCA template", description="A TOSCA service template."))

@contextlib.contextmanager
def _seekable(store, location):
    """The stored package as a seekable file: the file itself when the
    store has one, else a temporary copy (zip needs random access)."""
    reader = store.open(location)
    try:
        fileno = getattr(reader, "fileno", None)
        if fileno is not None:
            with os.fdopen(os.dup(fileno()), "rb") as f:
                f.seek(0)
                yield f
            return
        with tempfile.TemporaryFile() as f:
            shutil.copyfileobj(reader, f, 1 << 20)
            f.seek(0)
            yield f
    finally:
        reader.close()


@checks_fields("package")
def unpack_package(ctx, artifact, field, result, store, reserve=None, **_):
    """blob_uploaded hook: check the CSAR and unpack it into ``contents``
    (bounded: member count and total size as the ``contents`` folder
    allows, sizes, ratios, path safety -- see artifacts/archive.py; the
    declared total is reserved against the project's quota before a byte
    is unpacked); refused archives leave nothing stored."""
    if field != "package":
        return []
    contents = VNF_PACKAGES.field("contents")
    prefix = "%s/contents/%s" % (artifact["id"], uuid.uuid4().hex)
    with _seekable(store, result.location) as source:
        files = archive.unpack_zip(
            source, store, prefix, check=archive.validate_csar,
            max_members=min(archive.MAX_MEMBERS, contents.max_items),
            max_total_size=min(archive.MAX_TOTAL_SIZE, contents.max_size),
            reserve=reserve)
    return [("contents", f.path, f) for f in files]


VNF_PACKAGES = register(artifact_type("vnf_packages", {
    "description": Field("string", max_length=4096),
    "provider": Field("string", max_length=255, sortable=True),
    "product_name": Field("string", max_length=255, sortable=True),
    "software_version": Field("string", max_length=255),
    "vnfd_id": Field("string", max_length=255),
    "package": Field("blob", mutable=False, required_on_activate=True,
                     max_size=1024 * MIB),
    # Filled from the package by the unpack hook; read-only for users.
    "contents": Field("folder", system=True, max_items=archive.MAX_MEMBERS,
                      max_size=4096 * MIB),
}, noun="VNF package", description="An ETSI NFV VNF package (CSAR).",
    hooks={"blob_uploaded": [unpack_package]}))

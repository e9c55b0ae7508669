"""Which Glare store serves each Glance store: ``--store-map`` and
``--glance-config``.

``--store-map fast=ssd,http=web`` maps Glance store ids (the ``store`` key
of a location's metadata, in Glance's multi-store form) to Glare store ids.
``--glance-config glance-api.conf`` reads Glance's own configuration: its
``metadata_encryption_key``, and its stores (``enabled_backends`` and their
sections, or ``[glance_store]`` in the single-store form); each Glance
store is mapped to the Glare store that owns its locations (a file store's
directory must be Glare's datadir or in a Glare filesystem store's
``allowed_roots``), and a Glance file store no Glare store can serve stops the
run before anything is written, naming it (an image in a store of another
kind that no Glare store serves is refused by id when the run reaches it).
"""

import configparser
import os

from migrate_from_glance.records import Fatal

# A location of each glance_store type, to ask Glare's stores who owns it.
PROBES = {"http": "http://glance-migrate.invalid/probe",
          "rbd": "rbd://probe/pool/image/snap",
          "swift": "swift://probe/container/object",
          "cinder": "cinder://probe",
          "vmware": "vsphere://probe/folder/file",
          "s3": None, "file": None}


def parse_store_map(text):
    """``GLANCE=GLARE,...`` as a dict."""
    out = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        glance, sep, glare = part.partition("=")
        if not sep or not glance.strip() or not glare.strip():
            raise Fatal("--store-map: %r is not GLANCE_STORE=GLARE_STORE."
                        % part)
        out[glance.strip()] = glare.strip()
    return out


def read(path, stores, store_map):
    """(store map, metadata_encryption_key or None) from Glance's file;
    ``store_map`` (from --store-map) wins over what is derived."""
    parser = configparser.RawConfigParser(strict=False,
                                          interpolation=None)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as exc:
        raise Fatal("--glance-config %s cannot be read: %s" % (path, exc))
    key = parser.defaults().get("metadata_encryption_key") or None
    mapped = dict(store_map)
    backends = parser.defaults().get("enabled_backends", "")
    glance_stores = {}
    for item in backends.split(","):
        store_id, _, kind = item.strip().partition(":")
        if store_id:
            glance_stores[store_id.strip()] = (kind.strip(), store_id.strip())
    if not glance_stores:
        section = "glance_store"
        kinds = [k.strip() for k in parser.get(
            section, "stores", fallback="file,http").split(",") if k.strip()]
        for kind in kinds:
            glance_stores[None if kind == "file" else kind] = (kind, section)
    for store_id, (kind, section) in glance_stores.items():
        if store_id in mapped:
            continue
        owner = _owner(parser, section, kind, stores)
        if owner is None and store_id in stores.drivers:
            owner = store_id
        if owner is None:
            # Only a file store is surely in use; an image in another store
            # that nothing serves is refused by id when it comes.
            if kind == "file":
                raise Fatal(
                    "Glance store %s (%s, [%s]) is served by no configured "
                    "Glare store: add its directory to a Glare filesystem "
                    "store's allowed_roots, configure a store for it, or map "
                    "it with --store-map."
                    % (store_id or "file", kind, section))
            continue
        if store_id is not None:
            mapped[store_id] = owner
    return mapped, key


def _owner(parser, section, kind, stores):
    if kind == "file":
        dirs = [parser.get(section, "filesystem_store_datadir",
                           fallback="")]
        dirs += [d.rpartition(":")[0] if d.rpartition(":")[2].isdigit()
                 else d for d in parser.get(
                     section, "filesystem_store_datadirs",
                     fallback="").split(",")]
        owners = {stores.owner_of("file://" + os.path.join(
            os.path.abspath(d.strip()), "probe")) for d in dirs if d.strip()}
        owners.discard(None)
        return owners.pop() if len(owners) == 1 else None
    probe = PROBES.get(kind)
    return stores.owner_of(probe) if probe else None

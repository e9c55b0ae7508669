"""Registry of artifact types: each is one declarative module here."""

_TYPES = {}


def register(artifact_type):
    _TYPES[artifact_type.name] = artifact_type
    return artifact_type


def get(name):
    _load_builtin()
    return _TYPES[name]


def all_types():
    _load_builtin()
    return dict(_TYPES)


_LOADED = []


def _load_builtin():
    # A flag, not "is images registered": importing one type module directly
    # (artifacts.types.images) registers that type alone.
    if not _LOADED:
        # Importing a type module registers its types.
        from artifacts.types import files, heat, images, tosca  # noqa: F401
        _LOADED.append(True)

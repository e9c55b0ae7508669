"""``files``: a generic artifact holding one file and/or a folder of files."""

from artifacts.types import register
from artifacts.types.base import Field, artifact_type

FILES = register(artifact_type("files", {
    "description": Field("string", max_length=4096),
    "file": Field("blob", mutable=False, max_size=None),
    "files": Field("folder", mutable=False, max_items=10000),
}, noun="file", description="Any file, or a folder of files."))

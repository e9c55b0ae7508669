"""TOSCA templates and VNF packages (CSAR archives, unpacked on upload)."""

from artifacts.types import register
from artifacts.types.base import Field, artifact_type

MIB = 1024 * 1024

TOSCA_TEMPLATES = register(artifact_type("tosca_templates", {
    "description": Field("string", max_length=4096),
    "template_format": Field("string", allowed=("yaml", "json"),
                             default="yaml", nullable=False),
    "template": Field("blob", mutable=False, required_on_activate=True,
                      max_size=10 * MIB),
}, noun="TOSCA template", description="A TOSCA service template."))

VNF_PACKAGES = register(artifact_type("vnf_packages", {
    "description": Field("string", max_length=4096),
    "provider": Field("string", max_length=255, sortable=True),
    "product_name": Field("string", max_length=255, sortable=True),
    "software_version": Field("string", max_length=255),
    "vnfd_id": Field("string", max_length=255),
    "package": Field("blob", mutable=False, required_on_activate=True,
                     max_size=1024 * MIB),
    # Filled from the package by the unpack hook; read-only for users.
    "contents": Field("folder", system=True, max_items=10000,
                      max_size=4096 * MIB),
}, noun="VNF package", description="An ETSI NFV VNF package (CSAR)."))

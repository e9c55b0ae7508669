"""Heat orchestration templates and environments."""

from artifacts.types import register
from artifacts.types.base import Field, artifact_type

MIB = 1024 * 1024

HEAT_TEMPLATES = register(artifact_type("heat_templates", {
    "description": Field("string", max_length=4096),
    "template": Field("blob", mutable=False, required_on_activate=True,
                      max_size=10 * MIB),
    "nested_templates": Field("folder", mutable=False, max_items=200,
                              max_size=50 * MIB),
    "environments": Field("link_list", link_type="heat_environments",
                          max_items=100),
    "default_envs": Field("dict", max_items=100),
}, noun="heat template", description="A Heat orchestration template."))

HEAT_ENVIRONMENTS = register(artifact_type("heat_environments", {
    "description": Field("string", max_length=4096),
    "environment": Field("blob", mutable=False, required_on_activate=True,
                         max_size=10 * MIB),
}, noun="heat environment", description="A Heat environment file."))

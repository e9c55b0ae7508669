"""The ``inject_image_metadata`` import plugin: Glance's
``[inject_metadata_properties]``.

``inject`` (key:value,...) is added to the extra properties of an image
imported by a user who has none of the roles in ``ignore_user_roles``
(Glance's default: admin).  Keys in Glance's reserved namespace
``os_glance`` are dropped with a warning, as Glance drops them; Glare also
drops the names of the image's own fields (``name``, ``disk_format``...),
which Glance would store as a clashing extra property.

The caller's roles are known in the request only (a task keeps its user
and project, not its roles), so the properties are computed when the
import is accepted and written with the import's task.
"""

import logging

LOG = logging.getLogger(__name__)

RESERVED_PREFIX = "os_glance"


class Injection:
    """The plugin: see the module docstring."""

    name = "inject_image_metadata"

    def __init__(self, inject=None, ignore_user_roles=("admin",),
                 reserved_names=()):
        self.ignore_user_roles = frozenset(ignore_user_roles or ())
        self.inject = {}
        for key, value in (inject or {}).items():
            if key.startswith(RESERVED_PREFIX) or key in reserved_names:
                LOG.warning("[inject_metadata_properties] inject: dropping "
                            "%s=%s (a reserved or core image property)",
                            key, value)
                continue
            self.inject[key] = value

    def properties_for(self, roles):
        """The properties to inject for a caller with ``roles``."""
        if self.ignore_user_roles.intersection(roles or ()):
            return {}
        return dict(self.inject)

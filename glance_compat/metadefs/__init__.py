"""The metadata definitions API, ``/v2/metadefs/`` as Glance serves it.

One blueprint per area: ``namespaces`` (and the DELETE of all of a
namespace's objects, properties or tags), ``objects``, ``properties``,
``tags`` and ``resource_types``; ``/v2/schemas/metadefs/*`` are served by
``glance_compat.schemas``.  Views parse the request, make one call on the
catalog (``metadefs.service.Catalog``) and render Glance's JSON
(``common``).
"""

from glance_compat.metadefs import (namespaces, objects, properties,
                                    resource_types, tags)

BLUEPRINTS = (namespaces.bp, objects.bp, properties.bp, tags.bp,
              resource_types.bp)

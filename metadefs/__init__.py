"""Metadata definitions: Glance's catalog of namespaces, objects,
properties, tags and resource types (``/v2/metadefs``).

``tables`` (the rows), ``policies`` (Glance's rule names and defaults),
``documents`` (what a property definition may hold, checked once for the
API and the loader), ``service`` (every operation: visibility, policy,
transactions) and ``loader`` (``glare db load-metadefs``).  The HTTP face
is ``glance_compat.metadefs``; nothing here knows about HTTP.
"""

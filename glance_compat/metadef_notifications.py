"""Glance's notifications of metadata definitions.

``subscribe(catalog, notifier)`` turns the committed changes of the
metadefs catalog (``metadefs.service.Change``) into the notifications a
Glance 33 sends for the same requests (``glance/notifier.py``:
``format_metadef_*_notification`` and its ``Metadef*RepoProxy``), checked
against a real Glance through RabbitMQ
(``tests/integration/test_notifications.py``):

======================================  ===================================
POST /v2/metadefs/namespaces            metadef_namespace.create, then one
                                        metadef_resource_type.create,
                                        metadef_object.create,
                                        metadef_tag.create,
                                        metadef_property.create per item
                                        of the document, in that order
PUT / DELETE .../namespaces/{ns}        metadef_namespace.update / .delete
                                        (only the namespace: its contents
                                        go with it untold, as in Glance)
DELETE .../{ns}/objects|properties|tags metadef_namespace.delete_objects,
                                        .delete_properties, .delete_tags
objects, properties, tags               metadef_<kind>.create / .update /
                                        .delete (``name_old`` the name
                                        before an update)
POST .../{ns}/tags                      metadef_tag.create per new tag
resource type associations              metadef_resource_type.create /
                                        .delete
======================================  ===================================

Payload quirks kept because consumers read them as Glance writes them: an
object's properties are a list whose empty or false values are ``null``
(Glance's ``or None``: a ``minimum`` of 0 too); a new or updated object
without ``required`` says ``null``, a deleted one ``[]`` (read back from
the database); deletions carry ``deleted: true`` and the time.
"""

import datetime

from glance_compat.notifications import isotime

# The JSON-schema keywords of a property, in Glance's payload order.
PROPERTY_FIELDS = ("type", "title", "description", "default", "minimum",
                   "maximum", "enum", "pattern", "minLength", "maxLength",
                   "confidential", "items", "uniqueItems", "minItems",
                   "maxItems", "additionalItems")


def _deleted(payload, action):
    if action == "delete":
        payload.update(deleted=True, deleted_at=isotime(
            datetime.datetime.now(datetime.timezone.utc)))
    return payload


def namespace_payload(namespace, old_name=None):
    """``format_metadef_namespace_notification``."""
    return {
        "namespace": namespace["namespace"],
        "namespace_old": old_name or namespace["namespace"],
        "display_name": namespace.get("display_name"),
        "protected": bool(namespace.get("protected")),
        "visibility": namespace.get("visibility") or "private",
        "owner": namespace.get("owner"),
        "description": namespace.get("description"),
        "created_at": isotime(namespace.get("created_at")),
        "updated_at": isotime(namespace.get("updated_at")),
        "deleted": False,
        "deleted_at": None,
    }


def object_payload(namespace, obj, old_name=None):
    """``format_metadef_object_notification``."""
    return {
        "namespace": namespace,
        "name": obj["name"],
        "name_old": old_name or obj["name"],
        "properties": [
            dict({"name": name}, **{key: (definition or {}).get(key) or None
                                    for key in PROPERTY_FIELDS})
            for name, definition in (obj.get("properties") or {}).items()],
        "required": obj.get("required"),
        "description": obj.get("description"),
        "created_at": isotime(obj.get("created_at")),
        "updated_at": isotime(obj.get("updated_at")),
        "deleted": False,
        "deleted_at": None,
    }


def property_payload(namespace, prop, old_name=None):
    """``format_metadef_property_notification`` (no times: Glance's
    property has none)."""
    definition = prop["definition"] or {}
    payload = {"namespace": namespace, "name": prop["name"],
               "name_old": old_name or prop["name"]}
    payload.update((key, definition.get(key)) for key in PROPERTY_FIELDS)
    payload.update(deleted=False, deleted_at=None)
    return payload


def resource_type_payload(namespace, link, old_name=None):
    """``format_metadef_resource_type_notification`` (an association)."""
    return {
        "namespace": namespace,
        "name": link["name"],
        "name_old": old_name or link["name"],
        "prefix": link.get("prefix"),
        "properties_target": link.get("properties_target"),
        "created_at": isotime(link.get("created_at")),
        "updated_at": isotime(link.get("updated_at")),
        "deleted": False,
        "deleted_at": None,
    }


def tag_payload(namespace, tag, old_name=None):
    """``format_metadef_tag_notification``."""
    return {
        "namespace": namespace,
        "name": tag["name"],
        "name_old": old_name or tag["name"],
        "created_at": isotime(tag.get("created_at")),
        "updated_at": isotime(tag.get("updated_at")),
        "deleted": False,
        "deleted_at": None,
    }


_ITEMS = {"object": object_payload, "property": property_payload,
          "resource_type": resource_type_payload, "tag": tag_payload}


def payload(change):
    """(event type, payload) of a ``metadefs.service.Change``."""
    event_type = "metadef_%s.%s" % (change.kind, change.action)
    if change.kind == "namespace":
        body = namespace_payload(change.namespace, change.old_name)
    else:
        body = _ITEMS[change.kind](change.namespace["namespace"],
                                   change.item, change.old_name)
    return event_type, _deleted(body, change.action)


def subscribe(catalog, notifier):
    """Send Glance's ``metadef_*`` notifications of ``catalog``'s changes
    through ``notifier`` (``glare.notifier``); nothing when it is off."""
    if not notifier.enabled:
        return

    def listener(change):
        event_type, body = payload(change)
        notifier.info(event_type, body)
    catalog.subscribe(listener)

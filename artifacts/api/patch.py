"""RFC 6902 JSON patches on artifacts (``PATCH /artifacts/{type}/{id}``).

A patch is applied to the artifact's *writable document* -- name, version
(a semver string), visibility, owner, tags and the declared non-data
fields -- one operation after the other, exactly as RFC 6902 says for
add, remove and replace:

* ``/name``, ``/version``, ``/visibility``, ``/owner``: replace (or add,
  which replaces); they cannot be removed;
* ``/tags``: the whole list; ``/tags/<i>`` or ``/tags/-`` one tag;
* ``/<field>``: a declared field; remove sets it to null (if nullable);
* ``/<dict field>/<key>``: one entry; ``/<list field>/<i|->``: one item.

The result is validated against the type's JSON Schema, then written back
into the engine's artifact dict.  ``mutator(atype, ops)`` returns the
function ``engine.update`` calls (again on a fresh copy whenever a
concurrent change won the compare-and-swap), so it derives everything from
the artifact it is given.
"""

import copy

from artifacts import errors, versions
from artifacts.api.common import parse_version
from artifacts.types import schema as type_schema

TOP_LEVEL = ("name", "version", "visibility", "owner", "tags")
READ_ONLY = ("id", "type_name", "status", "created_at", "updated_at")


def _pointer(path):
    """'/a/b~1c' → ['a', 'b/c'] (RFC 6901)."""
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.Invalid("Patch path %r must be a JSON pointer "
                             "starting with '/'." % (path,))
    parts = path[1:].split("/")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def _index(token, length, op, path):
    """A list index of a pointer: '-' (append, add only) or a number
    without leading zeros within the list."""
    if token == "-" and op == "add":
        return length
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise errors.Invalid("Patch path %s: %r is not a list index."
                             % (path, token))
    index = int(token)
    limit = length if op == "add" else length - 1
    if index > limit:
        raise errors.Invalid("Patch path %s: index %d is out of range."
                             % (path, index))
    return index


def document(atype, artifact):
    """The writable view of an artifact that patches apply to."""
    doc = {"name": artifact["name"],
           "version": versions.render(artifact["version"]),
           "visibility": artifact["visibility"], "owner": artifact["owner"],
           "tags": sorted(artifact["tags"])}
    for name, fdef in atype.fields.items():
        if not fdef.is_data and not fdef.system:
            doc[name] = copy.deepcopy(artifact["properties"].get(name))
    if atype.extra_properties:
        for name, value in artifact["properties"].items():
            if name not in atype.fields:
                doc[name] = copy.deepcopy(value)
    return doc


def _check_target(atype, name, path):
    if name in READ_ONLY:
        raise errors.Forbidden("Attribute '%s' is read-only%s." % (
            name, "; use POST .../actions/activate, deactivate or "
            "reactivate" if name == "status" else ""))
    fdef = atype.field(name)
    if fdef is not None and fdef.is_data:
        raise errors.Invalid("Field '%s' holds data: upload it with PUT "
                             "/artifacts/%s/<id>/%s%s." % (
                                 name, atype.name, name,
                                 "/<path>" if fdef.kind == "folder" else ""))
    if fdef is not None and fdef.system:
        raise errors.Forbidden("Field '%s' is read-only; it is set by the "
                               "service." % name)
    if fdef is None and name not in TOP_LEVEL and \
            not atype.extra_properties:
        raise errors.Invalid("Patch path %s: %s has no field '%s'."
                             % (path, atype.name, name))


def apply(atype, doc, op):
    """Apply one operation to the writable document, in place."""
    kind, path = op["op"], op["path"]
    tokens = _pointer(path)
    name = tokens[0]
    if name == "" and len(tokens) == 1:
        raise errors.Invalid("Patching the whole artifact ('/') is not "
                             "supported; name a field.")
    _check_target(atype, name, path)
    if kind != "remove" and "value" not in op:
        raise errors.Invalid("Patch operation %s %s needs a value."
                             % (kind, path))
    value = copy.deepcopy(op.get("value"))
    if len(tokens) == 1:
        if kind == "remove":
            fdef = atype.field(name)
            if name in TOP_LEVEL[:4]:
                raise errors.Invalid("'%s' cannot be removed." % name)
            if name == "tags":
                doc["tags"] = []
            elif fdef is not None and not fdef.nullable:
                raise errors.Invalid("Field '%s' cannot be removed; it may "
                                     "not be null." % name)
            elif fdef is None and name not in doc:
                raise errors.Invalid("Patch path %s does not exist." % path)
            elif fdef is None:
                del doc[name]
            else:
                doc[name] = None
        elif name == "owner" and value is None:
            raise errors.Invalid("'owner' cannot be null.")
        else:
            doc[name] = value
        return
    if len(tokens) > 2:
        raise errors.Invalid("Patch path %s is too deep: fields hold "
                             "scalars, lists of scalars or maps of "
                             "scalars." % path)
    container = doc.get(name)
    token = tokens[1]
    fdef = atype.field(name)
    is_list = name == "tags" or (fdef is not None and fdef.kind in (
        "list", "link_list"))
    is_dict = fdef is not None and fdef.kind == "dict"
    if is_list:
        container = list(container or [])
        index = _index(token, len(container), kind, path)
        if kind == "add":
            container.insert(index, value)
        elif kind == "replace":
            container[index] = value
        else:
            del container[index]
    elif is_dict:
        container = dict(container or {})
        if kind in ("replace", "remove") and token not in container:
            raise errors.Invalid("Patch path %s does not exist." % path)
        if kind == "remove":
            del container[token]
        else:
            container[token] = value
    else:
        raise errors.Invalid("Patch path %s: '%s' is neither a list nor a "
                             "map." % (path, name))
    doc[name] = container


def mutator(atype, ops):
    """The ``mutate(artifact)`` that applies ``ops`` for engine.update."""
    def mutate(artifact):
        doc = document(atype, artifact)
        for op in ops:
            apply(atype, doc, op)
        type_schema.validate(type_schema.input_validator(atype), doc)
        artifact["name"] = doc["name"]
        artifact["version"] = parse_version(doc["version"])
        artifact["visibility"] = doc["visibility"]
        artifact["owner"] = doc["owner"]
        artifact["tags"] = set(doc["tags"])
        props = artifact["properties"]
        for name in list(props):
            fdef = atype.field(name)
            if (fdef is None or not (fdef.is_data or fdef.system)) and \
                    name not in doc:
                del props[name]
        for name, value in doc.items():
            if name in TOP_LEVEL:
                continue
            if value is None:
                props.pop(name, None)
            else:
                props[name] = value
    return mutate

"""Policy rules of the metadata definitions API, under Glance's names.

Glance's secure-RBAC defaults: anybody with the reader role reads the
namespaces of their project and every public namespace; only administrators
(``metadef_admin``) create, change or delete anything.  An operator's
Glance ``policy.yaml`` that loosens a rule (for example
``add_metadef_namespace: "role:member"``) applies unchanged.

Targets (``target``): ``project_id`` is the namespace's owner and
``visibility`` its visibility; a check with no namespace yet (list,
create) has only ``project_id``, the caller's project.
"""

from oslo_policy import policy

from artifacts.types.image_policies import (ADMIN, ADMIN_OR_PROJECT_READER,
                                            deprecated)

METADEF_ADMIN = "rule:metadef_admin"

#: Glance's ADMIN_OR_PROJECT_READER_GET_NAMESPACE.
ADMIN_OR_READER_OF_OWN_OR_PUBLIC = (
    "%s or (role:reader and (project_id:%%(project_id)s or "
    "'public':%%(visibility)s))" % ADMIN)

_READ = ADMIN_OR_READER_OF_OWN_OR_PUBLIC


def _rule(name, check_str, description):
    # The read rules were ``rule:metadef_default`` before secure RBAC
    # (Glance keeps that as their deprecated default, since Xena).
    old = (deprecated(name, "rule:metadef_default", "X")
           if check_str is not METADEF_ADMIN else None)
    return policy.RuleDefault(name=name, check_str=check_str,
                              description=description,
                              scope_types=["project"], deprecated_rule=old)


RULES = [
    policy.RuleDefault(name="metadef_default", check_str="",
                       description="Kept for operator files that refer "
                                   "to it."),
    policy.RuleDefault(name="metadef_admin", check_str=ADMIN,
                       description="Who administers metadata "
                                   "definitions."),
    _rule("get_metadef_namespace", _READ, "Show a namespace."),
    _rule("get_metadef_namespaces", ADMIN_OR_PROJECT_READER,
          "List namespaces."),
    _rule("modify_metadef_namespace", METADEF_ADMIN, "Change a namespace."),
    _rule("add_metadef_namespace", METADEF_ADMIN, "Create a namespace."),
    _rule("delete_metadef_namespace", METADEF_ADMIN,
          "Delete a namespace, or all its objects, properties or tags."),
    _rule("get_metadef_object", _READ, "Show an object."),
    _rule("get_metadef_objects", _READ, "List the objects of a namespace."),
    _rule("modify_metadef_object", METADEF_ADMIN, "Change an object."),
    _rule("add_metadef_object", METADEF_ADMIN, "Create an object."),
    _rule("delete_metadef_object", METADEF_ADMIN, "Delete an object."),
    _rule("list_metadef_resource_types", _READ,
          "List resource types, or the associations of a namespace."),
    _rule("get_metadef_resource_type", _READ,
          "Show a resource type association."),
    _rule("add_metadef_resource_type_association", METADEF_ADMIN,
          "Associate a resource type with a namespace."),
    _rule("remove_metadef_resource_type_association", METADEF_ADMIN,
          "Remove a resource type association."),
    _rule("get_metadef_property", _READ, "Show a property."),
    _rule("get_metadef_properties", _READ,
          "List the properties of a namespace."),
    _rule("modify_metadef_property", METADEF_ADMIN, "Change a property."),
    _rule("add_metadef_property", METADEF_ADMIN, "Create a property."),
    _rule("remove_metadef_property", METADEF_ADMIN, "Delete a property."),
    _rule("get_metadef_tag", _READ, "Show a tag."),
    _rule("get_metadef_tags", _READ, "List the tags of a namespace."),
    _rule("modify_metadef_tag", METADEF_ADMIN, "Rename a tag."),
    _rule("add_metadef_tag", METADEF_ADMIN, "Create a tag."),
    _rule("add_metadef_tags", METADEF_ADMIN, "Create or replace tags."),
    _rule("delete_metadef_tag", METADEF_ADMIN, "Delete a tag."),
    _rule("delete_metadef_tags", METADEF_ADMIN,
          "Delete all the tags of a namespace."),
]

"""Policy rules of the images type, under the names Glance uses.

Keeping Glance's rule names and its secure-RBAC ("new") default check
strings means an operator's existing Glance ``policy.yaml`` applies
unchanged, and a deployment with no policy file behaves like a current
Glance: admins do everything, project members manage their project's images,
readers only read.

Target keys every image rule may reference (build them with
``image_target`` / ``create_target`` / ``list_target``):

``project_id``  the image owner (Glance maps it to ``owner``)
``owner``       the image owner as well
``member_id``   the caller's project when the image is shared with it and
                the caller is not the owner, else None
``visibility``  public / community / shared / private

Extra image attributes may be added to a target so operator rules can use
them (Glance exposes every image attribute and property to policy).
"""

from oslo_policy import policy

from artifacts import errors

# Building blocks of the check strings.
_ADMIN = "rule:context_is_admin"
_SERVICE = "rule:service_api"
_PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
_PROJECT_READER = "role:reader and project_id:%(project_id)s"
_IS_IMAGE_MEMBER = "project_id:%(member_id)s"
_VISIBLE_TO_OTHERS = ("'community':%(visibility)s or "
                      "'public':%(visibility)s or 'shared':%(visibility)s")

ADMIN = _ADMIN
ADMIN_OR_PROJECT_MEMBER = "%s or (%s)" % (_ADMIN, _PROJECT_MEMBER)
ADMIN_OR_PROJECT_READER = "%s or (%s)" % (_ADMIN, _PROJECT_READER)
ADMIN_OR_READER_WHO_CAN_SEE = (
    "%s or (role:reader and (project_id:%%(project_id)s or %s or %s))"
    % (_ADMIN, _IS_IMAGE_MEMBER, _VISIBLE_TO_OTHERS))
ADMIN_OR_MEMBER_WHO_CAN_SEE = (
    "%s or (role:member and (project_id:%%(project_id)s or %s or %s))"
    % (_ADMIN, _IS_IMAGE_MEMBER, _VISIBLE_TO_OTHERS))
ADMIN_OR_MEMBER_CREATING_OWN = (
    "%s or (%s and project_id:%%(owner)s)" % (_ADMIN, _PROJECT_MEMBER))
ADMIN_OR_OWNER_OR_SHARED_READER = (
    "%s or role:reader and (project_id:%%(project_id)s or %s)"
    % (_ADMIN, _IS_IMAGE_MEMBER))
ADMIN_OR_SHARED_MEMBER = (
    "%s or (role:member and %s)" % (_ADMIN, _IS_IMAGE_MEMBER))
SERVICE_OR_MEMBER_OF_OWNER = (
    "%s or (%s and project_id:%%(owner)s)" % (_SERVICE, _PROJECT_MEMBER))
ADMIN_OR_SERVICE = "%s or %s" % (_ADMIN, _SERVICE)

_SCOPE = ["project"]

# Glance's rules that had another default before secure RBAC keep it as a
# deprecated default of the same name (release letter as Glance gives it):
# with ``[oslo_policy] enforce_new_defaults = false`` oslo.policy allows
# "new default OR old default", as in Glance.  Glance 33 renamed none.
_LEGACY = "Secure RBAC (admin, project member, project reader) replaced " \
          "the old default."
_OLD_DEFAULTS = {
    "W": ("add_image", "delete_image", "get_image", "get_images",
          "modify_image", "communitize_image", "download_image",
          "upload_image", "delete_image_location", "get_image_location",
          "set_image_location", "add_member", "delete_member", "get_member",
          "get_members", "modify_member", "deactivate", "reactivate"),
    "X": ("get_task", "get_tasks", "add_task"),
}
_OLD_CACHE_DEFAULT = ("cache_image", "cache_list", "cache_delete")


def deprecated(name, check_str, since):
    """The deprecated default ``check_str`` of rule ``name``."""
    return policy.DeprecatedRule(name=name, check_str=check_str,
                                 deprecated_reason=_LEGACY,
                                 deprecated_since=since)


def _old_default(name):
    for since, names in _OLD_DEFAULTS.items():
        if name in names:
            return deprecated(name, "rule:default", since)
    if name in _OLD_CACHE_DEFAULT:
        return deprecated(name, "rule:manage_image_cache", "X")
    if name == "stores_info_detail":
        return deprecated(name, _ADMIN, "2025.1")
    return None


def _rule(name, check_str, description):
    return policy.RuleDefault(name=name, check_str=check_str,
                              description=description, scope_types=_SCOPE,
                              deprecated_rule=_old_default(name))


RULES = [
    # Base rules other rules refer to.
    policy.RuleDefault(
        name="context_is_admin", check_str="role:admin",
        description="Who counts as an administrator."),
    # Glance's old default was admin-only; a legacy file says so with
    # ``"default": "role:admin"``, which then governs every rule whose
    # check is ``rule:default`` (the task rules) as in Glance.
    policy.RuleDefault(
        name="default", check_str="",
        description="Fallback for rules an operator file leaves undefined.",
        deprecated_rule=deprecated("default", _ADMIN, "Ussuri")),
    policy.RuleDefault(
        name="service_api", check_str="role:service or role:admin",
        description="Service-to-service calls (Nova, Cinder)."),

    # Images.
    _rule("add_image", ADMIN_OR_MEMBER_CREATING_OWN,
          "Create an image owned by the caller's project."),
    _rule("get_images", ADMIN_OR_PROJECT_READER, "List images."),
    _rule("get_image", ADMIN_OR_READER_WHO_CAN_SEE, "Show one image."),
    _rule("modify_image", ADMIN_OR_PROJECT_MEMBER,
          "Update an image's attributes or tags."),
    _rule("delete_image", ADMIN_OR_PROJECT_MEMBER, "Delete an image."),
    _rule("publicize_image", ADMIN,
          "Set an image's visibility to public."),
    _rule("communitize_image", ADMIN_OR_PROJECT_MEMBER,
          "Set an image's visibility to community."),
    _rule("upload_image", ADMIN_OR_PROJECT_MEMBER, "Upload image data."),
    _rule("download_image", ADMIN_OR_MEMBER_WHO_CAN_SEE,
          "Download image data."),
    _rule("download_from_store", ADMIN_OR_MEMBER_WHO_CAN_SEE,
          "Download image data from a chosen store."),
    _rule("deactivate", ADMIN_OR_PROJECT_MEMBER, "Deactivate an image."),
    _rule("reactivate", ADMIN_OR_PROJECT_MEMBER, "Reactivate an image."),
    _rule("copy_image", ADMIN, "Copy image data into more stores."),

    # Locations.
    _rule("get_image_location", ADMIN_OR_PROJECT_READER,
          "Read an image's locations."),
    _rule("set_image_location", ADMIN_OR_PROJECT_MEMBER,
          "Set an image's locations (PATCH)."),
    _rule("delete_image_location", ADMIN,
          "Remove an image location or delete data from a store."),
    _rule("add_image_location", SERVICE_OR_MEMBER_OF_OWNER,
          "Register data with POST /v2/images/{id}/locations."),
    _rule("fetch_image_location", _SERVICE,
          "Read locations with GET /v2/images/{id}/locations."),

    # Members.
    _rule("add_member", ADMIN_OR_PROJECT_MEMBER, "Share an image."),
    _rule("delete_member", ADMIN_OR_PROJECT_MEMBER, "Stop sharing an image."),
    _rule("get_member", ADMIN_OR_OWNER_OR_SHARED_READER,
          "Show one image member."),
    _rule("get_members", ADMIN_OR_OWNER_OR_SHARED_READER,
          "List image members."),
    _rule("modify_member", ADMIN_OR_SHARED_MEMBER,
          "Accept or reject an image shared with the caller."),

    # Cache.
    _rule("manage_image_cache", ADMIN, "Legacy cache management."),
    _rule("cache_image", ADMIN, "Queue an image for caching."),
    _rule("cache_list", ADMIN, "List cached and queued images."),
    _rule("cache_delete", ADMIN, "Remove images from the cache or queue."),
    _rule("cache_clean", ADMIN, "Clean invalid or stalled cache entries."),
    _rule("cache_prune", ADMIN, "Prune the cache to its size limit."),
    _rule("list_cached_nodes", ADMIN, "List nodes caching an image."),

    # Tasks: every task call also needs tasks_api_access.
    _rule("tasks_api_access", ADMIN, "Use the tasks API at all."),
    _rule("get_task", "rule:default", "Show a task."),
    _rule("get_tasks", "rule:default", "List tasks."),
    _rule("add_task", "rule:default", "Create a task."),
    _rule("modify_task", "rule:default", "Update a task."),

    # Discovery.
    _rule("stores_info_detail", ADMIN_OR_SERVICE,
          "Show store details (GET /v2/info/stores/detail)."),
]


def image_target(owner, visibility, member_id=None, **extra):
    """Target for a rule checked against an existing image.

    ``member_id`` is the caller's project when the image is shared with it
    and the caller is not the owner (None otherwise).
    """
    target = dict(extra)
    target.update(project_id=owner, owner=owner, member_id=member_id,
                  visibility=visibility)
    return target


def create_target(context, owner=None, visibility=None):
    """Target for ``add_image`` (and the visibility rules) on create.

    Like Glance: the proposed owner defaults to the caller's project and the
    visibility to ``private`` when the request does not set them.
    """
    owner = owner if owner is not None else context.project_id
    return {"project_id": owner, "owner": owner, "member_id": None,
            "visibility": visibility or "private"}


def list_target(context):
    """Target for ``get_images``: "may this caller list at all"."""
    return {"project_id": context.project_id}


def visibility_rule(visibility):
    """The extra rule setting this visibility needs, or None."""
    return {"public": "publicize_image",
            "community": "communitize_image"}.get(visibility)


def enforce_on_image(enforcer, context, rule, target):
    """Enforce ``rule`` on an existing image, hiding images the caller
    cannot see.

    Glance answers 404 rather than 403 when the caller may not even
    ``get_image`` the image, so a denial never confirms that an id exists;
    on a visible image the denial stays 403.
    """
    if enforcer.check(context, rule, target):
        return
    if rule == "get_image" or not enforcer.check(context, "get_image",
                                                 target):
        raise errors.NotFound()
    raise errors.Forbidden(
        "You are not authorized to complete %s action." % rule)

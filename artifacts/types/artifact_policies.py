"""Policy rules of the generic artifact types (``artifact:<operation>``).

The same secure-RBAC shape as the images rules, so sharing works the same
way for every type: readers read what their project owns or what is shared
with it (or public/community), members change their project's artifacts,
only admins publish.  Targets are built by the engine exactly as for images
(``project_id``/``owner`` = the artifact owner, ``member_id``,
``visibility``).  Operators override them in the same policy.yaml.
"""

from oslo_policy import policy

from artifacts.types import image_policies as shapes


def _rule(operation, check_str, description):
    return policy.RuleDefault(name="artifact:%s" % operation,
                              check_str=check_str, description=description,
                              scope_types=["project"])


RULES = [
    _rule("create", shapes.ADMIN_OR_MEMBER_CREATING_OWN,
          "Create an artifact in your project."),
    _rule("list", shapes.ADMIN_OR_PROJECT_READER, "List artifacts."),
    _rule("get", shapes.ADMIN_OR_READER_WHO_CAN_SEE,
          "Show an artifact you can see."),
    _rule("download", shapes.ADMIN_OR_READER_WHO_CAN_SEE,
          "Download the data of an artifact you can see."),
    _rule("update", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Change an artifact of your project."),
    _rule("delete", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Delete an artifact of your project."),
    _rule("upload", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Upload data into an artifact of your project."),
    _rule("activate", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Activate an artifact of your project."),
    _rule("deactivate", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Deactivate an artifact of your project."),
    _rule("reactivate", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Reactivate an artifact of your project."),
    _rule("publicize", shapes.ADMIN, "Make an artifact public."),
    _rule("communitize", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Make an artifact of your project community-visible."),
    _rule("add_member", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Share an artifact of your project."),
    _rule("delete_member", shapes.ADMIN_OR_PROJECT_MEMBER,
          "Stop sharing an artifact of your project."),
    _rule("get_member", shapes.ADMIN_OR_OWNER_OR_SHARED_READER,
          "Show a membership."),
    _rule("get_members", shapes.ADMIN_OR_OWNER_OR_SHARED_READER,
          "List memberships."),
    _rule("modify_member", shapes.ADMIN_OR_SHARED_MEMBER,
          "Accept or reject an artifact shared with your project."),
    _rule("manage_quotas", shapes.ADMIN, "Change quotas."),
]

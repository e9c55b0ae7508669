"""Who is asking: the request context every engine call receives."""

import dataclasses
import uuid


@dataclasses.dataclass
class RequestContext:
    project_id: str | None = None
    user_id: str | None = None
    roles: tuple = ()
    auth_token: str | None = None
    request_id: str = dataclasses.field(
        default_factory=lambda: "req-" + str(uuid.uuid4()))
    service_roles: tuple = ()
    # The scope of a token that is not scoped to a project: Keystone's
    # system scope ("all") or the id of the domain it is scoped to.  Every
    # policy rule is project-scoped, so oslo.policy refuses such a caller
    # everything (as Glance does, see artifacts/policy.py).
    system_scope: str | None = None
    domain_id: str | None = None
    # The caller's service catalog as keystonemiddleware passes it
    # (X-Service-Catalog), or None; glance-download finds the remote
    # region's image endpoint in it.
    service_catalog: list | None = None

    @property
    def is_admin(self):
        return "admin" in self.roles

    def policy_creds(self):
        """The credentials dict oslo.policy checks rules against."""
        return {
            "project_id": self.project_id,
            "user_id": self.user_id,
            "roles": list(self.roles),
            "service_roles": list(self.service_roles),
            "is_admin": self.is_admin,
            "system_scope": self.system_scope,
            "domain_id": self.domain_id,
        }

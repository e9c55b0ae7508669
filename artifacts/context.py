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
        }

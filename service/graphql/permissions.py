"""Who may resolve a field: strawberry permission classes over the request's principal.

service.auth says who is calling (token -> principal, role ranks); this module says what a
GraphQL field needs. Anonymous callers get UNAUTHENTICATED, callers with a lower role
FORBIDDEN.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from service.auth import Principal
from service.enums import Role
from service.graphql.errors import ClientError, Code


class _RequiresRole(BasePermission):
    """Anonymous callers get UNAUTHENTICATED; callers with a lower role get FORBIDDEN."""

    required: ClassVar[Role]

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        principal: Principal = info.context.principal
        if not principal.is_authenticated:
            raise ClientError("this needs an API token", Code.UNAUTHENTICATED)
        return principal.has_role(self.required)

    def on_unauthorized(self) -> None:
        # A ClientError, not strawberry's default error class, so error masking lets it through.
        raise ClientError(f"this needs the {self.required.value} role", Code.FORBIDDEN)


class IsReader(_RequiresRole):
    required = Role.READER


class IsEditor(_RequiresRole):
    required = Role.EDITOR


class IsAdmin(_RequiresRole):
    required = Role.ADMIN

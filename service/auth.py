"""Who is calling: bearer tokens and the principal they name.

A token is `mrr_` + 32 random bytes (URL-safe base64). The registry keeps only its SHA-256
digest, so a leaked table grants nothing; a plain digest (no salt, no slow KDF) is enough
because the secret has 256 bits of entropy and cannot be guessed from its hash.

What a principal may do in GraphQL is service.graphql.permissions; this module knows nothing
of GraphQL.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from service.db import Conn, tokens
from service.enums import Role
from service.errors import RegistryError

TOKEN_PREFIX = "mrr_"
# Shown by `registry token list` to tell tokens apart: the marker and 8 random characters.
DISPLAY_PREFIX_LENGTH = len(TOKEN_PREFIX) + 8

_RANK = {Role.READER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class Unauthenticated(RegistryError):
    """The request carried credentials that do not name a live token."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role | None

    @property
    def is_authenticated(self) -> bool:
        return self.role is not None

    def has_role(self, required: Role) -> bool:
        """READER < EDITOR < ADMIN: a role grants everything the roles below it grant."""
        return self.role is not None and _RANK[self.role] >= _RANK[required]


ANONYMOUS = Principal(name="anonymous", role=None)


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def display_prefix(token: str) -> str:
    return token[:DISPLAY_PREFIX_LENGTH]


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None when there is no header."""
    if authorization_header is None:
        return None
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token


async def authenticate(conn: Conn, authorization_header: str | None) -> Principal:
    """The principal a request's Authorization header names; ANONYMOUS without one."""
    token = bearer_token(authorization_header)
    if token is None:
        return ANONYMOUS
    digest = hash_token(token)
    row = await tokens.by_hash(conn, digest)
    # The lookup is by digest, so its timing says nothing about the secret; comparing the
    # stored digest in constant time as well keeps that true whatever the index does.
    # A revoked token and an unknown one get the same answer: the caller learns nothing
    # about which tokens once existed.
    if (
        row is None
        or not hmac.compare_digest(bytes(row["token_hash"]), digest)
        or row["revoked_at"] is not None
    ):
        raise Unauthenticated("the token is not valid")
    if row["touch_due"]:
        # At most one write a minute per token, not one per request.
        await tokens.touch(conn, row["id"])
    return Principal(name=row["name"], role=Role(row["role"]))

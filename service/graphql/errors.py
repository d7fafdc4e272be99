"""Errors a resolver raises on purpose for the client to read, with a stable code."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError


class ClientError(GraphQLError):
    """Shown to the client as it is, with `extensions.code`; every other exception is masked."""

    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message, extensions={"code": code, **extensions})

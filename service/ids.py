"""The registry's public ids: "Type:row id" in URL-safe base64, stable when slugs and names change.

Every entry point names a row by this id: GraphQL nodes, the ids inputs take (service.inputs
decodes them), and the compiled SQL that builds them where the row is.
"""

from __future__ import annotations

import base64


def encode(type_name: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{row_id}".encode()).decode().rstrip("=")


def sql(type_name: str, column: str) -> str:
    """The SQL expression computing `encode(type_name, column)` in PostgreSQL, for the
    compiled path: the same bytes, built where the row is."""
    return (
        f"rtrim(translate(encode(convert_to('{type_name}:' || {column}, 'UTF8'), 'base64'),"
        f" '+/', '-_'), '=')"
    )


def decode(global_id: str) -> tuple[str, int] | None:
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, row_id = base64.urlsafe_b64decode(padded).decode().partition(":")
        return type_name, int(row_id)
    except ValueError:
        return None

"""Compile a validated GraphQL selection into ONE SQL statement that builds the response JSON.

graphql-core spends a few microseconds on every field of every row; for the documents
frontends send on every view (a leaderboard, a model page, a lab) that per-field work, not
the database, dominates. For those documents the selection is turned into nested
json_build_object / json_agg expressions once, cached by document, and PostgreSQL returns
the finished `{"data": ...}` bytes. Anything the compiler does not cover (a field it has no
rule for, an argument on a nested field, a directive, an abstract type) raises
NotCompilable and the request takes the normal execution path; so does any request whose
root field would fail (an unknown benchmark), so errors are always produced by one path.

By concern: rules.py says what each object type's fields are in SQL; builder.py turns a
selection set over one row into json_build_object; roots.py compiles each covered root field
(leaderboard.py the leaderboard and its keyset page); this module compiles the operation into
a Plan. Every value, ordering and null matches the resolvers; a test runs a corpus of documents
through both paths and requires identical data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)

from service.graphql.compiler.builder import Builder, NotCompilable, check_unguarded
from service.graphql.compiler.roots import ROOTS

__all__ = ["NotCompilable", "Plan", "compile_operation"]


@dataclass
class Plan:
    """SQL with $n parameters, and how to compute each parameter from the variables."""

    sql: str
    params: list[Callable[[Mapping[str, Any]], Any]]

    def bind(self, variables: Mapping[str, Any]) -> list[Any]:
        return [param(variables) for param in self.params]


def compile_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Plan:
    """One statement answering the whole operation, or NotCompilable."""
    if operation.operation is not OperationType.QUERY:
        raise NotCompilable("only queries")
    query_type = schema.query_type
    assert query_type is not None
    builder = Builder(schema=schema, fragments=fragments)
    parts: list[str] = []
    for key, node in builder.keyed(operation.selection_set, "Query"):
        name = node.name.value
        if name == "__typename":
            parts.append(f"'{key}', 'Query'")
            continue
        compile_root = ROOTS.get(name)
        if compile_root is None:
            raise NotCompilable(f"root field {name}")
        check_unguarded(query_type.fields[name], f"Query.{name}")
        parts.append(f"'{key}', {compile_root(builder, node, query_type.fields[name])}")
    data = f"json_build_object('data', json_build_object({', '.join(parts)}))::text"
    # NULL when a root field would fail: the caller then runs the normal path for its error.
    checks = " AND ".join(builder.preconditions) or "true"
    return Plan(sql=f"SELECT CASE WHEN {checks} THEN {data} END", params=builder.params)

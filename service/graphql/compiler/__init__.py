"""Compile a validated GraphQL selection into ONE SQL statement that builds the response JSON.

graphql-core spends a few microseconds on every field of every row; for the documents
frontends send on every view (a leaderboard, a model page, a lab) that per-field work, not
the database, dominates. For those documents the selection is turned into nested
JSON-text expressions once, cached by document, and PostgreSQL returns the finished `data`
as compact JSON text, which the response carries without parsing it. Anything the compiler
does not cover (a field it has no rule for, an argument on a nested field, a directive, an
abstract type) raises NotCompilable and the request takes the normal execution path; so
does any request whose root field would fail (an unknown benchmark), so errors are always
produced by one path.

By concern: rules.py says what each object type's fields are in SQL; builder.py turns a
selection set over one row into its JSON text; roots.py compiles each covered root field
(leaderboard.py the leaderboard and its keyset page); this module compiles the operation into
a Plan. Every value, ordering and null matches the resolvers; a test runs a corpus of documents
through both paths and requires identical data.

A root whose SQL has branches the variables decide (a leaderboard reads its table or walks)
gets one statement per outcome, holding only its branch: PostgreSQL initialises every node of
a plan on each execution, taken or not, and the walk's are many. The plan picks the
statement when it binds the variables.

A Plan also says what its statement reads (service.dependencies), for the response cache: the
tables its text names, each whole, except where a root field claims (builder.Claim) to read a
table only for some rows (a model page: the scores of that model's versions) and no field
below it reads the table elsewhere. Keys a claim finds at run time come back in the
statement's second column, from the same snapshot as the answer.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
)

from service.dependencies import EVERYTHING, Scope, tables_of
from service.graphql.compiler.builder import (
    Builder,
    Claim,
    NotCompilable,
    check_unguarded,
    json_literal,
    json_nullable,
    json_object,
)
from service.graphql.compiler.roots import ROOTS
from service.graphql.compiler.rules import Reencode

# Per table: read whole (None), or only for the keys of these claims.
Template = dict[str, tuple[Claim, ...] | None]
# A statement per outcome of up to this many switches (builder.Builder.switch); with more,
# one statement that picks each branch in SQL.
MAX_SWITCHES = 2


@dataclass
class Plan:
    """SQL with $n parameters, and how to compute each parameter from the variables; what it
    reads, with the claims whose keys its second column (JSON: one array per anchor) finds."""

    sql: str
    params: list[Callable[[Mapping[str, Any]], Any]]
    template: Template | None  # None: EVERYTHING
    anchors: tuple[Claim, ...]
    # Whether the statement's JSON text may not be as orjson writes it (jsonb, floats).
    reencode: Reencode
    # A plan for each outcome of the switches, each holding only its branches; without
    # any, this plan, whose statement holds every branch.
    switches: tuple[Callable[[Mapping[str, Any]], bool], ...] = ()
    variants: Mapping[tuple[bool, ...], Plan] = field(default_factory=dict)

    def bind(self, variables: Mapping[str, Any]) -> list[Any]:
        return [param(variables) for param in self.params]

    def pick(self, variables: Mapping[str, Any]) -> Plan:
        """The plan to run for these (coerced) variables."""
        if not self.variants:
            return self
        return self.variants[tuple(test(variables) for test in self.switches)]

    def scope(self, found: list[list[str]]) -> Scope | None:
        """What the statement read, given the keys its anchors found."""
        if self.template is None:
            return None  # EVERYTHING
        keys = {claim: found[i] for i, claim in enumerate(self.anchors)}
        scope: Scope = {}
        for table, claims in self.template.items():
            if claims is None:
                scope[table] = None
            else:
                scope[table] = frozenset().union(
                    *(claim.keys if claim.anchor is None else keys[claim] for claim in claims)
                )
        return scope


def _names(sql: str, table: str) -> bool:
    tables = tables_of(sql)
    return tables is EVERYTHING or table in tables


def _template(builder: Builder, roots: list[tuple[str, str]]) -> Template | None:
    """Each table the roots' SQL names, whole unless its root claims it and no field reads it
    outside the claim's paths."""
    template: Template = {}
    for root, sql in roots:
        tables = tables_of(sql)
        if tables is None:
            return None  # EVERYTHING
        for table in tables:
            claim = next((c for c in builder.claims if (c.root, c.table) == (root, table)), None)
            kept = claim is not None and all(
                path in claim.paths
                for path, touched in builder.touches
                if path[0] == root and _names(touched, table)
            )
            earlier = template.get(table, ())
            if claim is None or not kept or earlier is None:
                template[table] = None
            else:
                template[table] = (*earlier, claim)
    return template


def compile_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    *,
    keyed: bool = True,
) -> Plan:
    """One statement answering the whole operation (one per outcome of its switches), or
    NotCompilable. Unless `keyed`, the statement finds no keys (its template is EVERYTHING):
    nothing keeps what it read (no response cache), and the anchors would cost the database
    a few probes per request."""
    if operation.operation is not OperationType.QUERY:
        raise NotCompilable("only queries")
    plan, switches = _compile(schema, operation, fragments, keyed=keyed, choices=None)
    if 0 < len(switches) <= MAX_SWITCHES:
        plan.switches = tuple(switches)
        plan.variants = {
            choices: _compile(schema, operation, fragments, keyed=keyed, choices=choices)[0]
            for choices in itertools.product((False, True), repeat=len(switches))
        }
    return plan


def _compile(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    *,
    keyed: bool,
    choices: tuple[bool, ...] | None,
) -> tuple[Plan, list[Callable[[Mapping[str, Any]], bool]]]:
    query_type = schema.query_type
    assert query_type is not None
    builder = Builder(schema=schema, fragments=fragments, choices=choices)
    parts: list[tuple[str, str]] = []
    roots: list[tuple[str, str]] = []
    for key, node in builder.keyed(operation.selection_set, "Query"):
        name = node.name.value
        if name == "__typename":
            parts.append((key, json_literal("Query")))
            continue
        compile_root = ROOTS.get(name)
        if compile_root is None:
            raise NotCompilable(f"root field {name}")
        check_unguarded(query_type.fields[name], f"Query.{name}")
        checked = len(builder.preconditions)
        with builder.below((key,)):
            sql = compile_root(builder, node, query_type.fields[name])
        roots.append((key, " ".join([sql, *builder.preconditions[checked:]])))
        parts.append((key, json_nullable(sql)))
    data = json_object(parts)
    # NULL when a root field would fail: the caller then runs the normal path for its error.
    checks = " AND ".join(builder.preconditions) or "true"
    template = _template(builder, roots) if keyed else EVERYTHING
    anchors: tuple[Claim, ...] = ()
    if template is not EVERYTHING:
        used = {claim for claims in template.values() for claim in claims or ()}
        anchors = tuple(claim for claim in builder.claims if claim in used and claim.anchor)
    found = ", ".join(claim.anchor or "" for claim in anchors)
    plan = Plan(
        sql=f"SELECT CASE WHEN {checks} THEN {data} END, json_build_array({found})::text",
        params=builder.params,
        template=template,
        anchors=anchors,
        reencode=builder.reencode,
    )
    return plan, builder.switches

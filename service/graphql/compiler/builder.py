"""The SQL builder: a selection set over one row becomes an expression of its JSON text.

The text is compact, as orjson writes it (`{"a":1,"b":[1,2]}`): the response carries it as
PostgreSQL wrote it, unparsed (service.graphql.fastpath). json_build_object and json_agg would
write `{"a" : 1, "b" : [1, 2]}`, so objects and lists are concatenated here instead; every
value is to_json's text, which escapes strings as orjson does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ConstValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInt,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    get_named_type,
    value_from_ast,
)

from service.graphql.compiler.rules import RULES, Reencode, Rule, Scalar, ToMany, ToOne
from service.graphql.limits import NESTED_LIST_CAP


class NotCompilable(Exception):
    """The document needs the normal execution path."""


def check_unguarded(field: GraphQLField | None, where: str) -> None:
    # A permission class or a field extension runs per field in graphql-core; the compiled
    # statement would skip it, so such a field is never compiled, whatever RULES say.
    definition = field.extensions.get("strawberry-definition") if field is not None else None
    if definition is not None and (definition.permission_classes or definition.extensions):
        raise NotCompilable(f"{where} is guarded")


Path = tuple[str, ...]  # a root field's response key, then "Type.field" of each field below


@dataclass(frozen=True)
class Claim:
    """A root field's word that it reads `table` only for the rows of some keys
    (service.dependencies): `keys`, and those the SQL `anchor` (a text[]) finds in the same
    statement (a write to the whole table changes every answer that reads some of its rows).
    The fields below the root may read the table too, but only at `paths`; one
    reading it anywhere else makes the scope the whole table (service.graphql.compiler)."""

    root: str
    table: str
    paths: frozenset[Path] = frozenset()
    keys: frozenset[str] = frozenset()
    anchor: str | None = None


@dataclass
class Builder:
    """One operation's statement in the making: its $n parameters, preconditions and aliases,
    and what it reads: each root's SQL, each field's SQL by its path, the roots' claims."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    params: list[Callable[[Mapping[str, Any]], Any]] = field(default_factory=list)
    preconditions: list[str] = field(default_factory=list)
    aliases: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))
    path: Path = ()
    touches: list[tuple[Path, str]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    # When a value's JSON text may differ from orjson's (jsonb, floats): re-encoded.
    reencode: Reencode = Reencode.NEVER
    # Questions on the variables that pick which branch of a root's SQL runs (the
    # leaderboard: its table or the walk). With `choices` each branch is fixed, the i-th by
    # choices[i], and the statement holds only the branches taken; without, it holds both
    # and picks in SQL (compile_operation).
    switches: list[Callable[[Mapping[str, Any]], bool]] = field(default_factory=list)
    choices: tuple[bool, ...] | None = None

    def claim(
        self,
        table: str,
        *,
        paths: tuple[Path, ...] = (),
        keys: frozenset[str] = frozenset(),
        anchor: str | None = None,
    ) -> None:
        """For the root being compiled: see Claim; `paths` are below the root."""
        root = self.path[0]
        below = frozenset((root, *path) for path in paths)
        self.claims.append(Claim(root, table, below, keys, anchor))

    @contextmanager
    def below(self, path: Path) -> Iterator[None]:
        outer, self.path = self.path, path
        try:
            yield
        finally:
            self.path = outer

    def touch(self, path: Path, sql: str) -> str:
        self.touches.append((path, sql))
        return sql

    def param(self, getter: Callable[[Mapping[str, Any]], Any], cast: str) -> str:
        self.params.append(getter)
        return f"${len(self.params)}::{cast}"

    def switch(self, test: Callable[[Mapping[str, Any]], bool]) -> bool | None:
        """Register a branch's test; its outcome in this statement, None for both branches."""
        self.switches.append(test)
        return None if self.choices is None else self.choices[len(self.switches) - 1]

    def alias(self) -> str:
        return f"t{next(self.aliases)}"

    def fields(self, selection_set: SelectionSetNode | None, type_name: str) -> list[FieldNode]:
        """The selection's fields, fragments expanded; anything conditional is refused."""
        if selection_set is None:
            raise NotCompilable("a composite field without a selection")
        found: list[FieldNode] = []
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompilable("directives")
            if isinstance(selection, FieldNode):
                found.append(selection)
            elif isinstance(selection, InlineFragmentNode):
                self._check_condition(selection.type_condition, type_name)
                found.extend(self.fields(selection.selection_set, type_name))
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is None:
                    raise NotCompilable("unknown fragment")
                self._check_condition(fragment.type_condition, type_name)
                found.extend(self.fields(fragment.selection_set, type_name))
        return found

    def keyed(
        self, selection_set: SelectionSetNode | None, type_name: str
    ) -> list[tuple[str, FieldNode]]:
        """The selection's fields with their response keys, each key once."""
        found: dict[str, FieldNode] = {}
        for node in self.fields(selection_set, type_name):
            key = node.alias.value if node.alias else node.name.value
            if key in found:
                # Merged fields (the same key twice) are left to graphql-core.
                raise NotCompilable("repeated response key")
            found[key] = node
        return list(found.items())

    @staticmethod
    def _check_condition(condition: Any, type_name: str) -> None:
        if condition is not None and condition.name.value != type_name:
            raise NotCompilable("a fragment on another type")

    def object(
        self,
        selection_set: SelectionSetNode | None,
        type_name: str,
        table: str,
        overrides: Mapping[str, str] | None = None,
    ) -> str:
        """The JSON text of the selection over the row aliased `table` (never NULL)."""
        rules = RULES.get(type_name)
        if rules is None:
            raise NotCompilable(f"no rules for {type_name}")
        return json_object(
            (key, self.value(node, type_name, rules, table, overrides))
            for key, node in self.keyed(selection_set, type_name)
        )

    def value(
        self,
        node: FieldNode,
        type_name: str,
        rules: Mapping[str, Rule],
        table: str,
        overrides: Mapping[str, str] | None,
    ) -> str:
        """The JSON text of one field's value (never NULL: `null` instead)."""
        name = node.name.value
        if name == "__typename":
            return json_literal(type_name)
        here = (*self.path, f"{type_name}.{name}")
        with self.below(here):
            return self._value(node, name, type_name, rules, table, overrides)

    def _value(
        self,
        node: FieldNode,
        name: str,
        type_name: str,
        rules: Mapping[str, Rule],
        table: str,
        overrides: Mapping[str, str] | None,
    ) -> str:
        rule = rules.get(name)
        # A nested list's `first` (its cap) is the one argument compiled; others are not.
        capped = isinstance(rule, ToMany) and not (overrides and name in overrides)
        if any(arg.name.value != "first" or not capped for arg in node.arguments or ()):
            raise NotCompilable(f"arguments on {type_name}.{name}")
        graphql_type = self.schema.get_type(type_name)
        fields = getattr(graphql_type, "fields", {})
        check_unguarded(fields.get(name), f"{type_name}.{name}")
        if overrides and name in overrides:
            return json_value(self.touch(self.path, overrides[name].format(t=table)))
        if rule is None:
            raise NotCompilable(f"no rule for {type_name}.{name}")
        if isinstance(rule, Scalar):
            self.reencode = max(self.reencode, rule.reencode)
            sql = self.touch(self.path, rule.sql.format(t=table))
            if rule.text:
                return json_nullable(sql)
            return json_scalar(sql, get_named_type(fields[name].type))
        child = self.alias()
        source = self.touch(self.path, rule.source.format(t=table, c=child))
        if isinstance(rule, ToOne):
            inner = self.object(node.selection_set, rule.type_name, child, rule.overrides)
            return json_nullable(f"(SELECT {inner} FROM {source})")
        inner = self.object(node.selection_set, rule.type_name, child)
        order = self.touch(self.path, rule.order.format(c=child))
        definition = getattr(self.schema.get_type(type_name), "fields", {})[name]
        if "first" in definition.args:
            get_first = self.argument(node, "first", definition.args["first"])
            first = self.param(lambda v: _nested_first(get_first(v)), "int")
            source = f"(SELECT {child}.* FROM {source} ORDER BY {order} LIMIT {first}) AS {child}"
        return json_array(inner, order, source)

    def argument(self, node: FieldNode, name: str, definition: Any) -> Callable[..., Any]:
        """A getter of an argument's coerced value from the request's coerced variables."""
        value_node: ValueNode | None = next(
            (argument.value for argument in node.arguments or () if argument.name.value == name),
            None,
        )
        default = None if definition.default_value is Undefined else definition.default_value
        if isinstance(value_node, ConstValueNode):
            # A scalar literal in the document: coerced once here, not on every request.
            constant = value_from_ast(value_node, definition.type)
            if constant is Undefined:
                raise NotCompilable(f"argument {name} does not coerce")
            return lambda variables: constant

        def get(variables: Mapping[str, Any]) -> Any:
            if value_node is None:
                return default
            if isinstance(value_node, VariableNode) and value_node.name.value not in variables:
                return default
            value = value_from_ast(value_node, definition.type, dict(variables))
            if value is Undefined:
                raise NotCompilable(f"argument {name} does not coerce")
            return value

        return get


def json_object(members: Iterable[tuple[str, str]]) -> str:
    """SQL for an object's JSON text; each member's value is SQL for JSON text, never NULL.

    Response keys are GraphQL names (letters, digits, `_`): safe in SQL and JSON literals.
    """
    args: list[str] = []
    for key, value in members:
        opener = "," if args else "{"
        args += [f"'{opener}\"{key}\":'", value]
    args.append("'}'" if args else "'{}'")
    return _concat(args)


def _concat(args: list[str]) -> str:
    # `||`, not concat(): concat takes "any" and looks up each argument's output function on
    # every call (a catalog lookup per member per row); every argument here is text already,
    # and never NULL. The model page's statement: 140 -> 132 us (a plpgsql loop, PG 18).
    return f"({' || '.join(args)})"


def json_array(item: str, order: str, source: str) -> str:
    """SQL for the JSON text of a list: `item` (JSON text) per row of `source`, in `order`."""
    items = f"string_agg({item}, ',' ORDER BY {order})"
    return f"(SELECT '[' || COALESCE({items}, '') || ']' FROM {source})"


def json_value(sql: str) -> str:
    """SQL for the JSON text of a value of any type (json included); `null` for NULL."""
    return f"COALESCE(to_json({sql})::text, 'null')"


def json_scalar(sql: str, graphql_type: GraphQLNamedType) -> str:
    """SQL for the JSON text of a scalar or enum value; `null` for NULL.

    to_json looks up how to write its argument's type on every call (catalog lookups per
    value: ~6% of a model page's statement in perf); the text of an enum, an Int or a Boolean is
    its JSON already, quoted for an enum (its values are GraphQL names: nothing to escape).
    """
    if isinstance(graphql_type, GraphQLEnumType):
        return json_nullable(f"('\"' || ({sql})::text || '\"')")
    if graphql_type in (GraphQLInt, GraphQLBoolean):
        return json_nullable(f"({sql})::text")
    return json_value(sql)


def json_nullable(sql: str) -> str:
    """JSON text that may be NULL (a subquery that found no row) as `null`."""
    return f"COALESCE({sql}, 'null')"


def json_literal(text: str) -> str:
    """A constant string (a type name) as JSON text."""
    return f"'\"{text}\"'"


def enum_values(values: Any) -> list[str] | None:
    return None if values is None else [str(getattr(v, "value", v)) for v in values]


def _nested_first(first: Any) -> int:
    """A nested list's `first` as the resolver takes it; what it refuses is not compiled."""
    if first is None:
        return NESTED_LIST_CAP
    if not isinstance(first, int) or not 0 <= first <= NESTED_LIST_CAP:
        raise NotCompilable("the resolver reports this first")
    return first

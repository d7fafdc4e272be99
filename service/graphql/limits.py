"""What one request may ask for, measured before anything runs: the one definition of limits.

Every entry point (graphql-core execution, the compiled path, the idempotency path) gets its
document from service.graphql.documents, which applies these limits between parsing and the
spec's validation rules, so a refused document costs neither validation nor execution.

The cost counts, as GitHub's node limit does, how many list items the request may return: a
list or connection field costs `size x (1 + the cost of its selection)`, any other field the
cost of its selection (a leaf: nothing). `size` is the field's `first`/`last` (a literal; the
page cap when it is a variable; the argument's default when absent, DEFAULT_PAGE for a
connection), DEFAULT_LIST_SIZE for a list without a page argument. The edges and nodes of a
connection are its items, already counted by the connection's own `first`. Aliases and
fragment spreads count every time they appear. Each fragment is measured once and its result
reused at every spread, so measuring is linear in the size of the document, whatever the
nesting (a fan-out of fragments that doubles 20 times is refused in microseconds, where
expanding it would take minutes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    get_nullable_type,
)

from service.graphql.errors import ClientError, Code
from service.graphql.pagination import DEFAULT_PAGE, MAX_PAGE

# The size assumed for a list field without a page argument (hardware targets, external
# ids, lineage nodes ...): such lists are short by nature, a few entries each.
DEFAULT_LIST_SIZE = 10
# The cap of the nested lists that had none (Lab.models, Model.versions, Version.scores):
# their `first` argument defaults to it and may not exceed it.
NESTED_LIST_CAP = 100
# Figures past this are the same refusal; keeping them small keeps arithmetic cheap.
_CEILING = 10**12
_PAGE_ARGUMENTS = ("first", "last")


@dataclass(frozen=True)
class Limits:
    """Per-request bounds; `max_cost` is the budget (REGISTRY_MAX_QUERY_COST)."""

    max_cost: int = 50_000
    max_depth: int = 12
    max_aliases: int = 100
    # Fields once fragments are expanded, whatever the list sizes: a page of 0 costs nothing
    # to answer, but every field still costs validation and compilation their walk.
    max_fields: int = 5_000
    max_selections: int = 100  # fields of one selection set, fragments expanded
    max_tokens: int = 5_000
    max_document_length: int = 100_000  # characters of the document text
    max_string_length: int = 10_000  # characters of any string value, literal or variable
    max_variable_values: int = 10_000  # values in the variables, nested ones included
    max_variable_depth: int = 16


@dataclass(frozen=True)
class Measure:
    cost: int = 0
    depth: int = 0
    aliases: int = 0
    widest: int = 0  # the most fields one selection set holds, fragments expanded
    width: int = 0  # fields of this selection set itself, fragments expanded
    fields: int = 0  # fields of the whole selection, fragments expanded at every spread


_NOTHING = Measure()


def _cap(value: int) -> int:
    return min(value, _CEILING)


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # None while a fragment is being measured: a cycle, which validation reports later.
        self.measured: dict[str, Measure | None] = {}

    def fragment(self, name: str) -> Measure:
        if name in self.measured:
            return self.measured[name] or _NOTHING
        definition = self.fragments.get(name)
        if definition is None:
            return _NOTHING  # an unknown fragment: validation names it
        self.measured[name] = None
        found = self.selection_set(
            definition.selection_set, self.schema.get_type(definition.type_condition.name.value)
        )
        self.measured[name] = found
        return found

    def selection_set(self, node: SelectionSetNode, parent: GraphQLNamedType | None) -> Measure:
        cost = depth = aliases = widest = width = fields = 0
        definitions: Mapping[str, GraphQLField] = getattr(parent, "fields", {}) if parent else {}
        paged = "pageInfo" in definitions  # a connection: its lists are sized by its own `first`
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                inner = self.field(selection, definitions.get(selection.name.value), paged)
                width += 1
                fields += 1
                aliases += 1 if selection.alias else 0
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
                width += inner.width
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                inner = self.selection_set(selection.selection_set, target)
                width += inner.width
            else:  # pragma: no cover - graphql-core knows no other selection
                continue
            cost += inner.cost
            depth = max(depth, inner.depth)
            aliases += inner.aliases
            fields += inner.fields
            widest = max(widest, inner.widest)
        width = _cap(width)
        return Measure(
            cost=_cap(cost),
            depth=depth,
            aliases=_cap(aliases),
            widest=max(widest, width),
            width=width,
            fields=_cap(fields),
        )

    def field(self, node: FieldNode, definition: GraphQLField | None, paged: bool) -> Measure:
        if node.selection_set is None:
            return _NOTHING
        target = get_named_type(definition.type) if definition is not None else None
        inner = self.selection_set(node.selection_set, target)
        size, items = _size(node, definition, paged)
        return Measure(
            cost=_cap(size * (items + inner.cost)),
            depth=inner.depth + 1,
            aliases=inner.aliases,
            widest=inner.widest,
            fields=inner.fields,
        )


def _size(node: FieldNode, definition: GraphQLField | None, paged: bool) -> tuple[int, int]:
    """How many times the field's selection is answered, and whether each one is an item."""
    if definition is None:
        return 1, 0
    given = {
        argument.name.value: argument.value
        for argument in node.arguments or ()
        if not isinstance(argument.value, NullValueNode)
    }
    names = [name for name in _PAGE_ARGUMENTS if name in definition.args]
    if names:
        # The page arguments given (first or last, never both); none: the first one's default.
        sizes = [_argument_size(given[name], None) for name in names if name in given]
        return max(sizes or [_argument_size(None, definition.args[names[0]].default_value)]), 1
    if isinstance(get_nullable_type(definition.type), GraphQLList) and not paged:
        return DEFAULT_LIST_SIZE, 1
    return 1, 0


def _argument_size(value: Node | None, default: Any) -> int:
    if value is None:
        # Absent: the argument's default; a connection without `first` pages by DEFAULT_PAGE.
        return default if isinstance(default, int) else DEFAULT_PAGE
    if isinstance(value, IntValueNode):
        return max(0, min(int(value.value), _CEILING))
    # A variable: its value is not known yet, so the largest page it could ask for.
    return max(MAX_PAGE, NESTED_LIST_CAP)


def measure(schema: GraphQLSchema, document: DocumentNode) -> Measure:
    """The cost, depth, aliases, widest selection and fields of the document's operations."""
    walk = _Walk(schema, document)
    total = _NOTHING
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        root = schema.get_root_type(definition.operation)
        found = walk.selection_set(definition.selection_set, root)
        total = Measure(
            cost=max(total.cost, found.cost),
            depth=max(total.depth, found.depth),
            aliases=max(total.aliases, found.aliases),
            widest=max(total.widest, found.widest),
            fields=max(total.fields, found.fields),
        )
    return total


def _strings(node: Any) -> Iterator[StringValueNode]:
    """Every string literal in the document: arguments, defaults, list and object values."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, StringValueNode):
            yield current
        elif isinstance(current, ListValueNode):
            stack.extend(current.values)
        elif isinstance(current, ObjectValueNode):
            stack.extend(field.value for field in current.fields)
        elif isinstance(current, Node):
            for key in current.keys:
                value = getattr(current, key, None)
                if key in ("loc", "name", "alias"):
                    continue
                if isinstance(value, Node):
                    stack.append(value)
                elif isinstance(value, tuple | list):
                    stack.extend(item for item in value if isinstance(item, Node))


def _too_complex(limit: str, value: int, maximum: int, message: str) -> GraphQLError:
    return ClientError(message, Code.QUERY_TOO_COMPLEX, limit=limit, value=value, maximum=maximum)


def check_document(
    schema: GraphQLSchema, document: DocumentNode, limits: Limits
) -> tuple[Measure, list[GraphQLError]]:
    """The document's measure, and an error for every limit it breaks (none when it fits)."""
    found = measure(schema, document)
    errors: list[GraphQLError] = []
    if found.cost > limits.max_cost:
        errors.append(
            _too_complex(
                "cost",
                found.cost,
                limits.max_cost,
                f"the query costs {found.cost}, more than the budget of {limits.max_cost}: "
                "ask for smaller pages (first/last) or fewer nested lists",
            )
        )
    if found.depth > limits.max_depth:
        errors.append(
            _too_complex(
                "depth",
                found.depth,
                limits.max_depth,
                f"the query is nested {found.depth} deep; at most {limits.max_depth}",
            )
        )
    if found.aliases > limits.max_aliases:
        errors.append(
            _too_complex(
                "aliases",
                found.aliases,
                limits.max_aliases,
                f"the query has {found.aliases} aliases; at most {limits.max_aliases}",
            )
        )
    if found.widest > limits.max_selections:
        errors.append(
            _too_complex(
                "selections",
                found.widest,
                limits.max_selections,
                f"a selection holds {found.widest} fields; at most {limits.max_selections}",
            )
        )
    if found.fields > limits.max_fields:
        errors.append(
            _too_complex(
                "fields",
                found.fields,
                limits.max_fields,
                f"the query selects {found.fields} fields once its fragments are expanded; "
                f"at most {limits.max_fields}",
            )
        )
    for string in _strings(document):
        problem = string_problem(string.value, limits)
        if problem is not None:
            errors.append(ClientError(problem, Code.BAD_USER_INPUT, nodes=[string]))
            break
    return found, errors


def string_problem(value: str, limits: Limits) -> str | None:
    """Why a string value is refused: PostgreSQL text cannot hold NUL; free text is bounded."""
    if "\x00" in value:
        return "a string must not contain the NUL character (\\u0000)"
    if len(value) > limits.max_string_length:
        return f"a string has {len(value)} characters; at most {limits.max_string_length}"
    return None


def check_variables(variables: Any, limits: Limits) -> str | None:
    """Why the request's variables are refused, walked without recursion; None when fine."""
    stack: list[tuple[Any, int]] = [(variables, 0)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > limits.max_variable_values:
            return f"the variables hold more than {limits.max_variable_values} values"
        if depth > limits.max_variable_depth:
            return f"the variables are nested more than {limits.max_variable_depth} deep"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
            for key in value:
                if (problem := string_problem(str(key), limits)) is not None:
                    return problem
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and (problem := string_problem(value, limits)) is not None:
            return problem
    return None

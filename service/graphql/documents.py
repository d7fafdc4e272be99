"""One parse and one check per document, shared by every path, in a cache bounded in bytes.

`Documents.check(text)` parses with the token and length limits, applies the limits of
service.graphql.limits (cost, depth, aliases, selections, strings) and only then graphql-core's
validation rules (which a refused document never reaches: the spec's overlap rule alone is
quadratic). The result, and what the compiled path derives from it, is cached by document
text. The cache is bounded by an estimate of the memory it holds (a parsed document takes
about 100 bytes per character of text), not by a count, so any mix of documents fits in it.

Persisted documents (service.graphql.persisted) have a tier of their own, keyed by their
SHA-256 and bounded by count and bytes: a request naming one by hash gets its checked
document and the plans derived from it without touching the tier that ad-hoc texts share,
so what clients send cannot evict them, and where only registered documents run (the
allow-list) memory is bounded by the registered set. A registered document met the limits
when it was registered; here it is parsed and validated (the schema may have moved on),
not measured again.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from service.graphql.errors import ClientError, Code
from service.graphql.limits import Limits, check_document

BYTES_PER_CHARACTER = 100
CACHE_BYTES = 64 * 1024 * 1024
CACHE_ENTRIES = 1024
PERSISTED_BYTES = 32 * 1024 * 1024
PERSISTED_ENTRIES = 2048

V = TypeVar("V")


@dataclass
class Checked:
    """A document and its errors (parse, limits or validation); no errors: it may run."""

    document: DocumentNode | None
    errors: list[GraphQLError]
    cost: int | None = None
    # What other paths derive from a valid document (compiled plans), kept as long as it is.
    derived: dict[Any, Any] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        if self.document is None:
            return None
        return get_operation_ast(self.document, name)


@dataclass(frozen=True)
class Persisted:
    """A persisted document: its hash, its text, whether it was registered, and its check."""

    sha256: str
    text: str
    registered: bool
    checked: Checked


class _Bounded(Generic[V]):
    """Least recently used out first, within an estimate of bytes and a count of entries."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.entries: OrderedDict[str, tuple[V, int]] = OrderedDict()
        self.bytes = 0

    def get(self, key: str) -> V | None:
        found = self.entries.get(key)
        if found is None:
            return None
        self.entries.move_to_end(key)
        return found[0]

    def put(self, key: str, value: V, size: int) -> list[V]:
        """Keep `value`, unless it alone would take an eighth; the values evicted for it."""
        if size > self.max_bytes // 8:
            return []
        evicted = [self.entries.pop(key)] if key in self.entries else []
        self.entries[key] = (value, size)
        self.bytes += size - sum(old for _, old in evicted)
        while self.bytes > self.max_bytes or len(self.entries) > self.max_entries:
            evicted.append(self.entries.popitem(last=False)[1])
            self.bytes -= evicted[-1][1]
        return [old for old, _ in evicted]


def _size(text: str) -> int:
    return len(text) * (BYTES_PER_CHARACTER + 1)


class Documents:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        *,
        introspection: bool = True,
        suggestions: bool = True,
        persisted_entries: int = PERSISTED_ENTRIES,
        persisted_bytes: int = PERSISTED_BYTES,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.suggestions = suggestions
        # The spec's rules and the two strawberry adds to them (strawberry.Schema validates so).
        rules = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        self._rules = rules if introspection else (*rules, NoSchemaIntrospectionCustomRule)
        self.texts = _Bounded[Checked](CACHE_BYTES, CACHE_ENTRIES)
        self.persisted = _Bounded[Persisted](persisted_bytes, persisted_entries)
        # The persisted tier again, by text: every path asks by text once a request has one.
        self._persisted_texts: dict[str, Persisted] = {}

    def check(self, text: str) -> Checked:
        persisted = self._persisted_texts.get(text)
        if persisted is not None:
            return persisted.checked
        found = self.texts.get(text)
        if found is not None:
            return found
        checked = self._check(text)
        self.texts.put(text, checked, _size(text))
        return checked

    def persist(self, sha256: str, text: str, *, registered: bool, cost: int | None) -> Persisted:
        """Check a persisted document and keep it by its hash; `cost`: registered, measured."""
        persisted = Persisted(sha256, text, registered, self._check(text, cost=cost))
        if persisted.checked.errors:
            return persisted  # answered with its errors, and never kept as a persisted one
        for evicted in self.persisted.put(sha256, persisted, _size(text)):
            self._persisted_texts.pop(evicted.text, None)
        if sha256 in self.persisted.entries:
            self._persisted_texts[text] = persisted
        return persisted

    def _check(self, text: str, *, cost: int | None = None) -> Checked:
        """Parse, limits (unless `cost` says they were met) and validation, in that order."""
        limits = self.limits
        if cost is None and len(text) > limits.max_document_length:
            # Refused before the lexer sees it: parsing is linear, but not free.
            error = ClientError(
                f"the document has {len(text)} characters; at most {limits.max_document_length}",
                Code.QUERY_TOO_COMPLEX,
                limit="length",
                value=len(text),
                maximum=limits.max_document_length,
            )
            return Checked(document=None, errors=[error])
        try:
            document = parse(text, max_tokens=limits.max_tokens)
        except GraphQLError as error:
            return Checked(document=None, errors=[error])
        errors: list[GraphQLError] = []
        if cost is None:
            measured, errors = check_document(self.schema, document, limits)
            cost = measured.cost
        if not errors:
            found = validate(
                self.schema, document, self._rules, hide_suggestions=not self.suggestions
            )
            # Coded here, where they are known to be validation errors: a rule's error on a
            # variable definition (unused, wrong position) is no coercion error.
            errors = [
                ClientError(error.message, Code.GRAPHQL_VALIDATION_FAILED, nodes=error.nodes)
                for error in found
            ]
        return Checked(document=document, errors=errors, cost=cost)

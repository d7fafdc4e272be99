"""One parse and one check per document, shared by every path, in a cache bounded in bytes.

`Documents.check(text)` parses with the token and length limits, applies the limits of
service.graphql.limits (cost, depth, aliases, selections, strings) and only then graphql-core's
validation rules (which a refused document never reaches: the spec's overlap rule alone is
quadratic). The result, and what the compiled path derives from it, is cached by document
text. The cache is bounded by an estimate of the memory it holds (a parsed document takes
about 100 bytes per character of text), not by a count, so any mix of documents fits in it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

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


class Documents:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        *,
        introspection: bool = True,
        suggestions: bool = True,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.suggestions = suggestions
        # The spec's rules and the two strawberry adds to them (strawberry.Schema validates so).
        rules = (*specified_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        self._rules = rules if introspection else (*rules, NoSchemaIntrospectionCustomRule)
        self._entries: OrderedDict[str, tuple[Checked, int]] = OrderedDict()
        self._bytes = 0

    def check(self, text: str) -> Checked:
        found = self._entries.get(text)
        if found is not None:
            self._entries.move_to_end(text)
            return found[0]
        checked = self._check(text)
        size = len(text) * (BYTES_PER_CHARACTER + 1)
        if size <= CACHE_BYTES // 8:
            self._entries[text] = (checked, size)
            self._bytes += size
            while self._bytes > CACHE_BYTES or len(self._entries) > CACHE_ENTRIES:
                _, (_, evicted) = self._entries.popitem(last=False)
                self._bytes -= evicted
        return checked

    def _check(self, text: str) -> Checked:
        limits = self.limits
        if len(text) > limits.max_document_length:
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
        measured, errors = check_document(self.schema, document, limits)
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
        return Checked(document=document, errors=errors, cost=measured.cost)

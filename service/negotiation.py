"""The GraphQL over HTTP spec's content negotiation: which media type, which status.

    application/json                    asked for, or for `*/*`, `application/*` and no Accept
                                        at all (legacy clients): every GraphQL answer is 200,
                                        request errors included, but for 429 and 503, which a
                                        client should retry whatever it parses
    application/graphql-response+json   asked for by name: a request error (nothing executed:
                                        a document that does not parse or validate, a limit, a
                                        variable that does not coerce, a refused persisted
                                        document) is a 4xx and has no `data` entry; once
                                        execution started the answer is 200, errors or not
    neither                             406 NOT_ACCEPTABLE (but GraphiQL for a browser)

Wildcards name application/json on purpose: clients that ask for the new media type by name
know its statuses; a client sending `*/*` may not.
"""

from __future__ import annotations

from functools import lru_cache

from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult

from service.graphql.errors import HTTP_STATUS, Code, code_of

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
# The Content-Type of each: the spec asks for the charset on the new one.
CONTENT_TYPE = {JSON: JSON, GRAPHQL_RESPONSE: f"{GRAPHQL_RESPONSE}; charset=utf-8"}

# A request error's status under application/graphql-response+json by its code; else 400.
REQUEST_ERROR_STATUS: dict[str, int] = {
    Code.UNAUTHENTICATED: 401,
    Code.FORBIDDEN: 403,
    Code.PERSISTED_QUERY_NOT_ALLOWED: 403,
    Code.INTERNAL: 500,
}

_SPECIFIC, _SUBTYPE_WILDCARD, _WILDCARD = 2, 1, 0


def _ranges(accept: str) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their weights; unusable ones left out."""
    found = []
    for part in accept.split(","):
        media, *parameters = (item.strip() for item in part.split(";"))
        weight = 1.0
        usable = bool(media)
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"').lower()
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    usable = False
            elif name == "charset" and value not in ("utf-8", "utf8"):
                usable = False  # the registry answers in UTF-8 only
        if usable:
            found.append((media.lower(), weight))
    return found


def _weight(media: str, ranges: list[tuple[str, float]]) -> float:
    """The weight of `media` by its most specific matching range (RFC 9110, 12.5.1)."""
    best: tuple[int, float] = (-1, 0.0)
    for candidate, weight in ranges:
        if candidate == media:
            specificity = _SPECIFIC
        elif media == JSON and candidate == "application/*":
            specificity = _SUBTYPE_WILDCARD
        elif media == JSON and candidate == "*/*":
            specificity = _WILDCARD
        else:
            continue
        if specificity > best[0]:
            best = (specificity, weight)
    return best[1]


@lru_cache(maxsize=256)
def response_type(accept: str | None) -> str | None:
    """The media type to answer in; None when the Accept header allows neither (406)."""
    if accept is None or not accept.strip():
        return JSON  # the spec's legacy default, and what graphql-http's audit expects
    ranges = _ranges(accept)
    modern, legacy = _weight(GRAPHQL_RESPONSE, ranges), _weight(JSON, ranges)
    if modern <= 0 and legacy <= 0:
        return None
    # A tie goes to the type the client named: it knows what a 4xx means under it.
    return GRAPHQL_RESPONSE if modern >= legacy else JSON


def is_request_error(result: ExecutionResult) -> bool:
    """Nothing executed: no data, and no error of a field (a field's error has a path)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(error.path is None for error in errors)


def status(result: ExecutionResult, media: str) -> int:
    for error in result.errors or ():
        found = HTTP_STATUS.get(code_of(error))
        if found is not None:
            return found
    if media == GRAPHQL_RESPONSE and is_request_error(result):
        codes = [code_of(error) for error in result.errors or ()]
        return next((REQUEST_ERROR_STATUS[c] for c in codes if c in REQUEST_ERROR_STATUS), 400)
    return 200


def media_type(content_type: str) -> str:
    """A Content-Type's `type/subtype` as strawberry reads it (email.message's parameter
    parser: the first `;`-separated part, stripped, case kept), without building an
    email.Message per request: a quote or an `=` in that part goes to strawberry's parser."""
    first = content_type.split(";", 1)[0]
    if '"' in content_type or "=" in first:
        return parse_content_type(content_type)[0]
    return first.strip()

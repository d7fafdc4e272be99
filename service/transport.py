"""Limits on the HTTP request itself, before any of it is parsed: headers and body size.

A body announced larger than the cap (Content-Length) is refused at once, unread; a body
streamed without a length is counted as it arrives and refused as soon as it passes the cap,
so at most `max_body` bytes are ever read. Refusals are GraphQL-shaped JSON with a code, in
the media type the Accept header asks for (service.negotiation).
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import negotiation
from service.graphql.errors import Code
from service.observability import header


class PayloadTooLarge(Exception):
    """Raised from `receive` when a streamed body passes the cap; this middleware answers."""


def error_response(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    media: str = negotiation.JSON,
) -> Response:
    """A request error in GraphQL JSON: `data` null as JSON clients know it, absent otherwise."""
    body: dict[str, object] = {"errors": [{"message": message, "extensions": {"code": code}}]}
    if media == negotiation.JSON:
        body = {"data": None, **body}
    response = JSONResponse(body, status_code=status, headers=headers)
    response.headers["content-type"] = negotiation.CONTENT_TYPE[media]
    return response


def _media(scope: Scope) -> str:
    """The media type of a refusal: as the request's Accept header asks, else JSON."""
    found = negotiation.response_type(header(scope, "accept"))
    return found or negotiation.JSON


class BoundedRequests:
    def __init__(self, app: ASGIApp, *, max_body: int, max_headers: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal, length = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        if length is not None:
            # The server reads no more than a Content-Length it was given, and this one is
            # within the cap: nothing left to count.
            await self.app(scope, receive, send)
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise PayloadTooLarge
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except PayloadTooLarge:
            if started:
                raise
            await self._too_large(_media(scope))(scope, receive, send)

    def _refusal(self, scope: Scope) -> tuple[Response | None, int | None]:
        """A refusal of the request as it stands, or None and the Content-Length it gave."""
        size, length, chunked = 0, None, False
        for name, value in scope["headers"]:
            size += len(name) + len(value)
            if name == b"content-length" and length is None:
                length = value
            elif name == b"transfer-encoding":
                chunked = True  # framing by chunks wins over any Content-Length: count them
        if size > self.max_headers:
            refusal = error_response(
                431,
                f"the request headers exceed {self.max_headers} bytes",
                Code.HEADERS_TOO_LARGE,
                media=_media(scope),
            )
            return refusal, None
        if length is None:
            return None, None
        if not length.isdigit():
            refusal = error_response(
                400, "Content-Length is not a number", Code.BAD_REQUEST, media=_media(scope)
            )
            return refusal, None
        if int(length) > self.max_body:
            return self._too_large(_media(scope)), None
        return None, None if chunked else int(length)

    def _too_large(self, media: str) -> Response:
        return error_response(
            413,
            f"the request body exceeds {self.max_body} bytes",
            Code.PAYLOAD_TOO_LARGE,
            media=media,
        )

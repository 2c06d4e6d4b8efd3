"""Request bodies are capped while they are read, before anything parses them.

A declared ``Content-Length`` over the route's cap is refused at once; a body sent without one
(chunked) is counted as it arrives and refused as soon as it passes the cap. Either way the
answer is the service's JSON error (413, ``detail`` naming the limit), and what was read is
dropped. The cap is 1 MiB (``MAX_JSON_BODY_BYTES``) except on file imports (``MAX_UPLOAD_BYTES``).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from matcher.app.vocabulary import number_fr
from matcher.settings import MAX_JSON_BODY_BYTES, MAX_UPLOAD_BYTES

from .schemas.messages import error_response

#: routes whose body is a file (imports): their own, larger cap
UPLOAD_PATHS = frozenset({"/needs/import", "/admin/suppliers/import"})


class _TooLarge(HTTPException):
    """Raised while reading past the cap; an HTTPException so that FastAPI's body parsing lets it through
    to the service's error handler (a 413 in the one JSON error shape)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, detail=_detail(cap))


def body_cap(path: str) -> int:
    """The most bytes a request body to ``path`` may hold."""
    return MAX_UPLOAD_BYTES if path in UPLOAD_PATHS else MAX_JSON_BODY_BYTES


def _detail(cap: int) -> str:
    what = "file : le fichier" if cap == MAX_UPLOAD_BYTES else "body : le corps de la requête"
    return f"{what} dépasse {cap // (1024 * 1024)} Mo ({number_fr(cap)} octets)"


def _refusal(cap: int) -> JSONResponse:
    return error_response(413, _detail(cap))


class BodyLimit:
    """Pure ASGI middleware enforcing ``body_cap`` on every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = body_cap(scope.get("path", ""))
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            await _refusal(cap)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise _TooLarge(cap)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await _refusal(cap)(scope, receive, send)

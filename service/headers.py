"""Security headers on every answer, and a strict Content-Security-Policy on HTML ones.

The page's scripts and styles are files served by the service itself (``/static``): no inline
script or style, nothing from another origin, no framing (ReDoc's reference page alone allows inline
styles, ``POLICIES``). ``Strict-Transport-Security`` is sent
in production mode (the deployment is behind HTTPS there).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the policy of every HTML answer: everything from the service itself, nothing inline, no framing
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
#: ReDoc (``/redoc``) styles itself with injected <style> elements: its page alone allows inline
#: styles; its scripts stay the service's own files and it shows no one's data
REDOC_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
#: the pages that answer under another policy than ``CONTENT_SECURITY_POLICY``
POLICIES = {"/redoc": REDOC_POLICY}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    """Pure ASGI middleware adding the headers to every HTTP answer."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = POLICIES.get(scope["path"], CONTENT_SECURITY_POLICY)
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)

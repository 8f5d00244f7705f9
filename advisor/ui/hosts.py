"""Refuse every request whose Host header is not this machine: the app's guard against DNS
rebinding.

Why: a web page the user happens to visit can make its own name resolve to 127.0.0.1 and
then talk to the app through the user's browser. Its requests carry that name as both
Origin and Host, so a same-origin check passes, and the app has inputs for server paths,
model ids and endpoints. A browser always sends the name it connected to as Host, so
accepting only this machine's names (or names the user lists) closes that door, for the
page, the websocket (``/_stcore/stream``) and every other route alike.

``app.py`` hands :func:`host_guard` to ``st.App``, so the check runs in front of Streamlit
from the first request on. Extra names (a reverse proxy, a LAN name) go in
``$ADVISOR_ALLOWED_HOSTS``, comma-separated; ``*.example.com`` allows sub-domains and ``*``
any name (only behind a proxy that checks Host itself).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

ALLOWED_HOSTS_ENV = "ADVISOR_ALLOWED_HOSTS"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def allowed_hosts(environ: MutableMapping[str, str] | None = None) -> tuple[str, ...]:
    """This machine's names plus those listed in ``$ADVISOR_ALLOWED_HOSTS``."""
    env = os.environ if environ is None else environ
    extra = [h.strip().lower().rstrip(".") for h in env.get(ALLOWED_HOSTS_ENV, "").split(",")]
    return tuple(dict.fromkeys([*LOCAL_HOSTS, *(h for h in extra if h)]))


def host_allowed(host: str | None, allowed: Iterable[str]) -> bool:
    """Whether a Host header (``name``, ``name:port``, ``[::1]:port``) names an allowed host."""
    if not host:
        return False
    try:
        parts = urlsplit(f"//{host.strip()}")
        name = parts.hostname
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        return False
    if not name or parts.username is not None or parts.password is not None or parts.path:
        return False
    name = name.lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostGuard:
    """ASGI middleware: HTTP requests from a foreign Host get 403, websockets are refused
    before the handshake (the client sees HTTP 403 too)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] | None = None) -> None:
        self.app = app
        self.allowed = tuple(allowed) if allowed is not None else allowed_hosts()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan events
            return
        host = None
        for key, value in scope.get("headers") or []:
            if key.lower() == b"host":
                host = value.decode("latin-1")
                break
        if host_allowed(host, self.allowed):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = (
            f"Host {host!r} is not allowed: open the app as http://localhost:PORT, or add the "
            f"name to ${ALLOWED_HOSTS_ENV}.\n"
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def host_guard() -> list[Any]:
    """The middleware list for ``st.App(..., middleware=host_guard())``."""
    from starlette.middleware import Middleware

    return [Middleware(HostGuard)]

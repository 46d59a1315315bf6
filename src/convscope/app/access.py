"""Who may use the explorer. On this machine's own address (the default) it answers requests
addressed to this machine's names only, so a page of another site cannot reach it through a name
that points here. Listening beyond this machine, it answers only requests that carry its token,
as Jupyter does: the address printed at start ends in ``?token=...``; the first request with it
sets a cookie for the rest (or a client sends ``Authorization: token ...``)."""
from __future__ import annotations

import hmac
import secrets
from typing import Awaitable, Callable, MutableMapping

from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
COOKIE = "convscope_token"

Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def is_local(host: str) -> bool:
    """Whether ``host`` is this machine's own address (only this machine can connect)."""
    return host in LOCAL_HOSTS


def new_token() -> str:
    """A token no one can guess (32 characters)."""
    return secrets.token_urlsafe(24)


def given_token(connection: HTTPConnection) -> str | None:
    """The token a request carries: in its address, its cookie, or its Authorization header."""
    header = connection.headers.get("authorization", "")
    from_header = header[len("token "):].strip() if header.lower().startswith("token ") else None
    return connection.query_params.get("token") or connection.cookies.get(COOKIE) or from_header


class TokenRequired:
    """ASGI middleware: requests without ``token`` get 403 and one line; a request whose address
    carries it gets the cookie that carries it from then on.

    Args:
        app: the app it guards.
        token: the token.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        given = given_token(connection)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            refused = PlainTextResponse("this explorer needs its token: open the address convscope serve printed "
                                        "(it ends in ?token=...)\n", status_code=403)
            await refused(scope, receive, send)
            return
        if connection.query_params.get("token") is None:
            await self.app(scope, receive, send)
            return

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie)]  # type: ignore[misc]
            await send(message)

        await self.app(scope, receive, with_cookie)

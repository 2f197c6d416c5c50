"""HTTP under the ASGI server: each request runs whole on one pooled thread.

Django's own ``ASGIHandler`` runs a sync view behind sync middleware through
several asgiref hops per request (the outer middleware in a fresh thread, back
to the event loop for the async-capable ones, out again for the view, once
more for ``response.close()``) and starts a new thread for every request.
Every view of the desk is synchronous, so this handler does what a WSGI server
does instead: read the body on the event loop, then run the signals, the
middleware, the view and ``close()`` on one thread of a fixed pool, and send
the response from the loop. It is the same request, middleware and response
objects as Django's handler; only the hops are gone (see
docs/architecture.md, "HTTP path", for the measured cost).
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix


class PooledHTTPHandler(ASGIHandler):
    """Django over ASGI for synchronous views, one thread hop per request."""

    def __init__(self, *, threads: int) -> None:
        # Skip ASGIHandler.__init__: it builds the async middleware chain.
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="http")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"HTTP only, not {scope['type']}")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(
            self.pool, self.respond, scope, body_file, send, loop
        )
        if response is not None:
            await self.send_response(response, send)

    def respond(
        self, scope: dict, body_file: Any, send: Any, loop: asyncio.AbstractEventLoop
    ) -> HttpResponseBase | None:
        """Runs on a pool thread: the whole Django request, then ``close()``.

        ``close()`` fires ``request_finished``, which hands this thread's
        database connection back, so it must run here and not on the loop.
        Returns a buffered response for the loop to send; a streaming one is
        sent from here, chunk by chunk, and None is returned.
        """
        try:
            set_script_prefix(get_script_prefix(scope))
            signals.request_started.send(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            if request is not None:
                response = self.get_response(request)
            if not response.streaming:
                response.close()
                return response
            try:
                self._stream(response, send, loop)
            finally:
                response.close()
            return None
        finally:
            body_file.close()

    def _stream(
        self, response: HttpResponseBase, send: Any, loop: asyncio.AbstractEventLoop
    ) -> None:
        """Send a streaming response (static files) from this thread."""

        def emit(message: dict) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        emit(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": _headers(response),
            }
        )
        for part in response:
            for chunk, _ in self.chunk_bytes(part):
                emit({"type": "http.response.body", "body": chunk, "more_body": True})
        emit({"type": "http.response.body", "body": b""})


def _headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them, case kept."""
    headers = [(k.encode("ascii"), v.encode("latin1")) for k, v in response.items()]
    for cookie in response.cookies.values():
        headers.append((b"Set-Cookie", cookie.output(header="").encode().strip()))
    return headers

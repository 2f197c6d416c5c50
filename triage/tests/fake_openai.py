"""An OpenAI-compatible chat-completions server on loopback, scriptable per test.

Real HTTP and real JSON, so the tests exercise the real ``openai`` client:
its timeouts, its retries on 429/5xx with Retry-After, and its parsing.

    fake = FakeOpenAI().start()
    fake.queue("429", "ok")          # next answers, then "ok" forever
    fake.requests[0]["messages"]     # what the client sent
    fake.stop()

Behaviours: ``ok`` (an answer derived from the request, or ``answer(body)``),
``slow`` (``ok`` after ``slow_seconds``), ``429`` (with Retry-After), ``500``,
``malformed`` (content that is not JSON), ``schema`` (JSON that violates the
schema).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MARKED = re.compile(
    r"<<<customer_message id=(\w+)>>>\n(.*)\n<<<end_customer_message", re.S
)
_ARTICLE = re.compile(r"^\[([\w-]+)\]", re.M)


def customer_text(body: dict[str, Any]) -> str:
    """The customer's text as the client wrapped it in the last user message."""
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    found = _MARKED.search(user)
    return found.group(2) if found else ""


def default_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A plausible reading of the request, keyed on a few words."""
    text = customer_text(body).lower()
    user = body["messages"][-1]["content"]
    articles = _ARTICLE.findall(user)
    if "stolen" in text or "lost" in text:
        category, priority = "lost_or_stolen_card", "urgent"
    elif "card" in text and "arriv" in text:
        category, priority = "card_arrival", "normal"
    else:
        category, priority = "other", "normal"
    draft = ""
    if articles and category != "other":
        draft = "Hello, cards usually arrive within 5 to 7 business days."
    return {
        "category": category,
        "category_confidence": 0.96 if category != "other" else 0.3,
        "category_reason": f"the message is about {category}",
        "out_of_scope": category == "other",
        "priority": priority,
        "priority_reason": f"category {category}",
        "sentiment": "neutral",
        "language": "en",
        "wants_human": "person" in text,
        "wants_human_reason": "asked for a person" if "person" in text else "no",
        "risk_flags": [],
        "draft": draft,
        "cited_articles": articles[:1] if draft else [],
    }


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: deque[str] = deque()
        self.answer: Callable[[dict[str, Any]], dict[str, Any]] = default_answer
        self.slow_seconds = 2.0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def queue(self, *behaviours: str) -> None:
        self.script.extend(behaviours)

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(
            target=self._server.serve_forever, name="fake-openai", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def next_behaviour(self) -> str:
        try:
            return self.script.popleft()
        except IndexError:
            return "ok"


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet tests
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._send(404, {"error": {"message": "no such route"}})
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return self._send(400, {"error": {"message": "body is not JSON"}})
        fake = self.server_fake
        fake.requests.append(body)
        fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        behaviour = fake.next_behaviour()
        if behaviour == "429":
            return self._send(
                429,
                _error("Rate limit reached", "rate_limit_exceeded"),
                {"Retry-After": "1", "retry-after-ms": "20"},
            )
        if behaviour == "500":
            return self._send(
                500,
                _error("The server had an error", "server_error"),
                {"retry-after-ms": "20"},
            )
        if behaviour == "slow":
            time.sleep(fake.slow_seconds)
        if behaviour == "malformed":
            content = '{"category": "card_arrival", "category_confidence": 0.9'
        elif behaviour == "schema":
            content = json.dumps({"category": "card_arrival", "priority": "asap"})
        else:
            content = json.dumps(fake.answer(body))
        self._send(200, _completion(body, content))

    def _send(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": code, "param": None, "code": code}}


_ids = iter(range(1, 10**9))


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
    completion_tokens = len(content.split())
    return {
        "id": f"chatcmpl-fake{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": f"{body.get('model', 'fake')}-2026-11-01",
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }

"""The widget in a real browser: embedded on another site's page, it sends a
message, asks for a person and shows the agent's reply.

The desk runs as it does in production, under uvicorn in its own process
(embedded settings: a fresh SQLite file and the in-memory channel layer), and
the page that embeds the widget is served from a second origin, so CORS and
the websocket origin check are exercised too. The agent's side goes through
the REST API.
"""

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
sue = User.objects.create_user("sue", password="pw", is_staff=True)
print(Token.objects.create(user=sue).key)
"""

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("SUPPORTDESK_REQUIRE_BROWSER") == "true":
        pytest.fail(f"{CHROMIUM} is missing and SUPPORTDESK_REQUIRE_BROWSER=true")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")


def _wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=1).close()
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def desk(tmp_path):
    """A live desk on 127.0.0.1 and a staff API token; stopped afterwards."""
    page_port, desk_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="supportdesk.settings",
        SUPPORTDESK_VAR_DIR=str(tmp_path),
        CELERY_TASK_ALWAYS_EAGER="true",
        CELERY_INPROCESS_WORKER="false",
        CHAT_ALLOWED_ORIGINS=f"http://127.0.0.1:{page_port}",
        LOG_LEVEL="WARNING",
    )
    setup = subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    token = setup.stdout.strip().splitlines()[-1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "supportdesk.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(desk_port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{desk_port}"
        _wait_for(f"{base}/healthz")
        with _host_page(page_port, base) as page_url:
            yield {"base": base, "token": token, "page": page_url}
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextlib.contextmanager
def _host_page(port: int, desk_base: str):
    """Someone else's web page, on another origin, embedding the widget."""
    html = f"""<!doctype html><html><head><title>Shop</title></head>
<body style="font-family:sans-serif;background:#fafafa">
<h1>Example shop</h1><p>Products and prices.</p>
<script src="{desk_base}/static/tickets/widget.js" data-desk="{desk_base}"></script>
</body></html>""".encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()
        server.server_close()


def _api(desk: dict, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{desk['base']}/api/{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={
            "Authorization": f"Token {desk['token']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_customer_chats_asks_for_a_person_and_gets_the_agents_reply(desk):
    _require_browser()
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 720})
            page.goto(desk["page"])
            page.get_by_role("button", name="Open support chat").click()
            page.get_by_label("Message").fill("My card never arrived")
            page.get_by_role("button", name="Send").click()
            expect(page.locator(".sd-msg.sd-customer:not(.sd-pending)")).to_have_text(
                "YouMy card never arrived", timeout=10_000
            )
            page.get_by_role("button", name="Talk to a person").click()
            # Confirmed by the desk, and honest: nobody is online in this test.
            expect(page.get_by_role("status")).to_contain_text(
                "You asked for a person. No one is online", timeout=10_000
            )

            tickets = _api(desk, "GET", "tickets/")["results"]
            (ticket,) = [t for t in tickets if t["channel"] == "chat"]
            detail = _api(desk, "GET", f"tickets/{ticket['id']}/")
            assert detail["wants_human"] is True
            assert detail["status"] == "awaiting_agent"
            _api(
                desk,
                "POST",
                f"tickets/{ticket['id']}/transitions/",
                {"action": "claim"},
            )
            _api(
                desk,
                "POST",
                f"tickets/{ticket['id']}/messages/",
                {"text": "Customer is a VIP", "internal": True},
            )
            _api(
                desk,
                "POST",
                f"tickets/{ticket['id']}/messages/",
                {"text": "Hi, I'm Sam. A new card is on its way."},
            )
            reply = page.locator(".sd-msg.sd-agent")
            expect(reply).to_contain_text("A new card is on its way", timeout=10_000)
            expect(page.get_by_role("status")).to_contain_text(
                "chatting with a person", timeout=10_000
            )
            page.screenshot(path=str(ARTIFACTS / "chat-widget.png"))
            assert "VIP" not in page.locator(".supportdesk-chat").inner_text()

            # A reload restores the whole conversation.
            page.reload()
            expect(page.locator(".sd-msg")).to_have_count(2, timeout=10_000)
        finally:
            browser.close()

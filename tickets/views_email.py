"""``POST /api/inbound/email/``: raw MIME from a mail provider or relay.

Authenticated by ``X-Signature-SHA256``, the hex HMAC-SHA256 of the exact
body under ``INBOUND_EMAIL_SECRET`` (a ``sha256=`` prefix is accepted). The
body is read through the size limit directly, not through ``request.body``,
whose form-sized cap would refuse ordinary mail with attachments.
"""

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from tickets import email_services

SIGNATURE_HEADER = "HTTP_X_SIGNATURE_SHA256"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@csrf_exempt
def inbound_email(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "use POST")
    secret = settings.INBOUND_EMAIL_SECRET
    if not secret:
        return _error(503, "disabled", "INBOUND_EMAIL_SECRET is not set")
    limit = settings.INBOUND_EMAIL_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        return _error(413, "too_large", f"the limit is {limit} bytes")
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, "too_large", f"the limit is {limit} bytes")
    given = request.META.get(SIGNATURE_HEADER, "").removeprefix("sha256=").strip()
    if not hmac.compare_digest(given.lower(), sign(body, secret)):
        return _error(401, "bad_signature", "X-Signature-SHA256 does not match")
    content_type = request.content_type or ""
    if content_type != "message/rfc822":
        return _error(415, "unsupported", "send the raw message as message/rfc822")
    if not body:
        return _error(400, "empty", "the body is empty")
    receipt = email_services.email_receive(
        raw=body, source="webhook", source_ref=request.META.get("REMOTE_ADDR", "")
    )
    status = 200 if receipt.outcome == email_services.DUPLICATE else 202
    return JsonResponse(
        {
            "outcome": receipt.outcome,
            "inbound_id": receipt.inbound_id,
            "ticket_id": receipt.ticket_id,
        },
        status=status,
    )

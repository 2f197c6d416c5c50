"""The chat page and the HTTP side of the widget.

The JSON endpoints are the fallback for when the websocket is down (and the
way a session starts); they call the same services as the consumer. They are
authenticated by the signed token in ``X-Chat-Token``, never by cookies, so
they are CSRF-exempt and may be called from the pages listed in
``CHAT_ALLOWED_ORIGINS``.
"""

import json
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from tickets import events
from tickets.chat import selectors, services
from tickets.chat.origins import origin_allowed

TOKEN_HEADER = "HTTP_X_CHAT_TOKEN"


@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/chat.html")


def _cors(view):
    """Answer preflights and add CORS headers for allowed embedding pages."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
        else:
            response = view(request, *args, **kwargs)
        origin = request.headers.get("Origin")
        if origin and origin_allowed(origin, request.get_host()):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, X-Chat-Token"
            response["Access-Control-Max-Age"] = "600"
            response["Vary"] = "Origin"
        return response

    return wrapper


def _json_errors(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except services.ChatError as exc:
            return _error(exc.status, exc.code, str(exc), **exc.extra)
        except RequestDataTooBig:
            return _error(413, "too_long", "the request body is too large")

    return wrapper


def _error(status: int, code: str, text: str, **extra) -> JsonResponse:
    response = JsonResponse({"code": code, "error": text, **extra}, status=status)
    if "retry_after" in extra:
        response["Retry-After"] = str(extra["retry_after"])
    return response


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise services.ChatError("bad_request", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise services.ChatError("bad_request", "the body must be a JSON object")
    return data


def _session(request: HttpRequest):
    return services.chat_session_from_token(request.META.get(TOKEN_HEADER, ""))


def _method(request: HttpRequest, *allowed: str) -> None:
    if request.method not in allowed:
        raise services.ChatError("method_not_allowed", f"use {' or '.join(allowed)}")


@_cors
@_json_errors
def session_start(request: HttpRequest) -> HttpResponse:
    _method(request, "POST")
    data = _body(request)
    session, token = services.chat_session_start(
        email=data.get("email") or "",
        name=str(data.get("name") or ""),
        language=str(data.get("language") or ""),
        ip=request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse(
        {
            "token": token,
            "session": session.key,
            "max_message_chars": settings.CHAT_MAX_MESSAGE_CHARS,
        },
        status=201,
    )


@_cors
@_json_errors
def messages(request: HttpRequest) -> HttpResponse:
    """GET: the conversation after ``?after=<id>``; POST: send one message."""
    _method(request, "GET", "POST")
    session = _session(request)
    if request.method == "GET":
        try:
            after = int(request.GET.get("after") or 0)
        except ValueError:
            raise services.ChatError("bad_request", "after must be an id") from None
        return JsonResponse(
            {
                "messages": selectors.chat_messages_after(session=session, after=after),
                "status": selectors.chat_status(session=session),
            }
        )
    data = _body(request)
    sent = services.chat_message_send(
        session_key=session.key,
        client_msg_id=data.get("client_msg_id"),
        text=data.get("text"),
        ip=request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse(
        {
            "type": "message.ack",
            "client_msg_id": data["client_msg_id"],
            "duplicate": not sent.created,
            "message": events.chat_message_public(sent.message),
        },
        status=201 if sent.created else 200,
    )


@_cors
@_json_errors
def escalate(request: HttpRequest) -> HttpResponse:
    _method(request, "POST")
    session = _session(request)
    services.chat_escalate(session_key=session.key)
    session.refresh_from_db()
    return JsonResponse(selectors.chat_status(session=session))


@_cors
@_json_errors
def contact(request: HttpRequest) -> HttpResponse:
    _method(request, "POST")
    session = _session(request)
    session = services.chat_contact_set(
        session_key=session.key, email=_body(request).get("email")
    )
    return JsonResponse(selectors.chat_status(session=session))


@_cors
@_json_errors
def status(request: HttpRequest) -> HttpResponse:
    _method(request, "GET")
    return JsonResponse(selectors.chat_status(session=_session(request)))

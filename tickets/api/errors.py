"""One machine-readable error body for every 4xx the API returns.

``{"error": {"code": "...", "message": "...", "fields": {...}}}``
"""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from tickets.states import IllegalTransition, TicketConflict, TicketNotFound


def _body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            _body("body_too_large", "The request body is too large."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, IllegalTransition):
        return Response(
            _body("illegal_transition", str(exc)), status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, TicketConflict):
        return Response(_body("conflict", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, (TicketNotFound, Http404)):
        exc = exceptions.NotFound()
    response = drf_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _body("invalid", "The request is not valid.", response.data)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        code = code if isinstance(code, str) else "error"
        response.data = _body(code, str(exc.detail))
    return response

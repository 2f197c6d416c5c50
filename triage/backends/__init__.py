"""Triage backends, chosen by ``settings.TRIAGE_BACKEND`` (local | openai)."""

from __future__ import annotations

from django.conf import settings

from triage.backends.base import Backend, BackendError, MessageInput, TriageOutput

__all__ = ["Backend", "BackendError", "MessageInput", "TriageOutput", "get_backend"]


def get_backend(name: str | None = None) -> Backend:
    """The configured backend (or ``name``); built per call, cheap: models and
    clients are cached in the modules that own them."""
    name = name or settings.TRIAGE_BACKEND
    if name == "local":
        from triage.backends.local import LocalBackend

        return LocalBackend()
    if name == "openai":
        from triage.backends.openai_backend import OpenAIBackend

        return OpenAIBackend.from_settings()
    raise ValueError(f"unknown triage backend {name!r}")

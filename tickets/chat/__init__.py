"""The customer chat: sessions, signed tokens, sending, escalation, status.

``services`` writes, ``selectors`` reads, ``tokens`` signs, ``ratelimit``
counts; the websocket consumer (``tickets.consumers``) and the HTTP views
(``tickets.chat.views``) are thin callers of the same functions.
"""

"""Short localised lines for automatic mail: acknowledgement and CSAT request.

Plain ``str.format`` templates, not Django templates, so intake stays pure.
``{greeting}`` is the greeting with the customer's name when known.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "en"

GREETINGS = {
    "en": ("Hello {name},", "Hello,"),
    "sv": ("Hej {name},", "Hej,"),
    "de": ("Hallo {name},", "Hallo,"),
    "fr": ("Bonjour {name},", "Bonjour,"),
    "es": ("Hola {name}:", "Hola:"),
    "it": ("Ciao {name},", "Salve,"),
    "nl": ("Hallo {name},", "Hallo,"),
    "pt": ("Olá {name},", "Olá,"),
}

TEMPLATES = {
    "acknowledgement": {
        "en": "{greeting}\n\nWe have received your message and opened ticket "
        "[#{ref}]. A person will reply within {hours} hours; just reply to this "
        "email to add anything.",
        "sv": "{greeting}\n\nVi har tagit emot ditt meddelande och öppnat ärende "
        "[#{ref}]. En person svarar inom {hours} timmar; svara bara på det här "
        "mejlet om du vill lägga till något.",
        "de": "{greeting}\n\nwir haben Ihre Nachricht erhalten und das Ticket "
        "[#{ref}] eröffnet. Ein Mensch antwortet innerhalb von {hours} Stunden; "
        "antworten Sie einfach auf diese E-Mail, um etwas zu ergänzen.",
        "fr": "{greeting}\n\nNous avons bien reçu votre message et ouvert le "
        "ticket [#{ref}]. Une personne vous répondra sous {hours} heures ; "
        "répondez simplement à cet e-mail pour ajouter quelque chose.",
        "es": "{greeting}\n\nHemos recibido su mensaje y abierto el ticket "
        "[#{ref}]. Una persona le responderá en {hours} horas; responda a este "
        "correo si desea añadir algo.",
        "it": "{greeting}\n\nabbiamo ricevuto il tuo messaggio e aperto il ticket "
        "[#{ref}]. Una persona ti risponderà entro {hours} ore; rispondi a questa "
        "email per aggiungere qualcosa.",
        "nl": "{greeting}\n\nWe hebben je bericht ontvangen en ticket [#{ref}] "
        "geopend. Een medewerker antwoordt binnen {hours} uur; beantwoord deze "
        "e-mail om iets toe te voegen.",
        "pt": "{greeting}\n\nRecebemos a sua mensagem e abrimos o pedido "
        "[#{ref}]. Uma pessoa responderá em até {hours} horas; responda a este "
        "e-mail para acrescentar algo.",
    },
    "csat": {
        "en": "How did we do with ticket [#{ref}]?\nGood: {good}\nNot good: {bad}",
        "sv": "Hur gick det med ärende [#{ref}]?\nBra: {good}\nInte bra: {bad}",
        "de": "Wie zufrieden sind Sie mit Ticket [#{ref}]?\nGut: {good}\n"
        "Nicht gut: {bad}",
        "fr": "Comment avons-nous traité le ticket [#{ref}] ?\nBien : {good}\n"
        "Pas bien : {bad}",
        "es": "¿Qué tal le atendimos en el ticket [#{ref}]?\nBien: {good}\nMal: {bad}",
        "it": "Come ti abbiamo aiutato con il ticket [#{ref}]?\nBene: {good}\n"
        "Male: {bad}",
        "nl": "Hoe hebben we ticket [#{ref}] afgehandeld?\nGoed: {good}\n"
        "Niet goed: {bad}",
        "pt": "Como foi o atendimento do pedido [#{ref}]?\nBom: {good}\nRuim: {bad}",
    },
}


def pick_language(language: str | None, available: dict[str, str]) -> str:
    """``de-AT`` → ``de`` → English, whichever exists first."""
    tag = (language or "").replace("_", "-").lower()
    for candidate in (tag, tag.split("-")[0]):
        if candidate in available:
            return candidate
    return DEFAULT_LANGUAGE


def render(template: str, language: str | None, *, name: str = "", **values) -> str:
    """Render a template in the best available language for the customer."""
    variants = TEMPLATES[template]
    lang = pick_language(language, variants)
    with_name, without = GREETINGS[lang]
    greeting = with_name.format(name=name) if name else without
    return variants[lang].format(greeting=greeting, **values)

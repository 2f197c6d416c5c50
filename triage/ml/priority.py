"""Priority (low / normal / high / urgent) from the category plus text signals.

The category carries most of the information: a lost card is urgent whatever the
tone. Text can only raise the level (a clear fraud or takeover statement makes
anything urgent; "asap" makes normal high), never lower it, so a calm message
about a stolen card is still urgent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEVELS = ("low", "normal", "high", "urgent")

# Money or access at risk right now.
URGENT_CATEGORIES = frozenset(
    {
        "lost_or_stolen_card",
        "lost_or_stolen_phone",
        "compromised_card",
        "card_swallowed",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
    }
)
# Money not where the customer expects it, or the card does not work.
HIGH_CATEGORIES = frozenset(
    {
        "declined_card_payment",
        "declined_cash_withdrawal",
        "declined_transfer",
        "failed_transfer",
        "transfer_not_received_by_recipient",
        "balance_not_updated_after_bank_transfer",
        "balance_not_updated_after_cheque_or_cash_deposit",
        "card_not_working",
        "wrong_amount_of_cash_received",
        "pending_cash_withdrawal",
        "reverted_card_payment?",
        "direct_debit_payment_not_recognised",
        "extra_charge_on_statement",
        "transaction_charged_twice",
        "Refund_not_showing_up",
        "pin_blocked",
        "passcode_forgotten",
        "unable_to_verify_identity",
        "wrong_exchange_rate_for_cash_withdrawal",
        "cash_withdrawal_charge",
    }
)
# Questions about how things work, with nothing at stake yet.
LOW_CATEGORIES = frozenset(
    {
        "exchange_rate",
        "supported_cards_and_currencies",
        "country_support",
        "age_limit",
        "fiat_currency_support",
        "visa_or_mastercard",
        "getting_spare_card",
        "order_physical_card",
        "disposable_card_limits",
        "get_disposable_virtual_card",
        "getting_virtual_card",
        "card_about_to_expire",
        "apple_pay_or_google_pay",
        "receiving_money",
        "top_up_limits",
        "exchange_via_app",
        "automatic_top_up",
        "edit_personal_details",
        "change_pin",
        "atm_support",
        "card_acceptance",
        "verify_source_of_funds",
        "why_verify_identity",
    }
)

_TAKEOVER_RE = re.compile(
    r"\b(?:someone|somebody)\s+(?:has\s+)?(?:hacked|accessed|logged into|took over|"
    r"is using|used|stole)\b|\baccount\s+(?:was\s+|has been\s+)?(?:hacked|taken over|"
    r"compromised)\b|\b(?:kapat|kapad|gehackt|piraté|hackead[ao])\b"
)
_HURRY_RE = re.compile(
    r"\b(?:urgent\w*|asap|immediately|emergency|right now|brådskande|akut|sofort|"
    r"dringend|urgente?|tout de suite|inmediatamente|subito|meteen|pilne)\b"
)


@dataclass(frozen=True)
class Priority:
    level: str
    confidence: float
    reason: str


def priority(text: str, category: str, category_confidence: float = 1.0) -> Priority:
    """Priority for a message already classified into ``category``."""
    low = text.lower()
    if category in URGENT_CATEGORIES:
        return Priority("urgent", category_confidence, f"category {category}")
    takeover = _TAKEOVER_RE.search(low)
    if takeover:
        return Priority("urgent", 0.8, f"text says {takeover.group(0)!r}")
    base = _category_level(category)
    hurry = _HURRY_RE.search(low)
    if hurry and base in ("low", "normal"):
        return Priority("high", 0.7, f"text says {hurry.group(0)!r}")
    return Priority(base, category_confidence, f"category {category}")


def _category_level(category: str) -> str:
    if category in HIGH_CATEGORIES:
        return "high"
    if category in LOW_CATEGORIES:
        return "low"
    return "normal"

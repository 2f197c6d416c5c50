from triage.ml.pii import iban_ok, luhn_ok, redact


def test_card_with_valid_luhn_is_redacted_with_spaces_or_dashes():
    for text in ("card 4111 1111 1111 1111 charged", "card 4111-1111-1111-1111 x"):
        r = redact(text)
        assert "[CARD]" in r.text and "4111" not in r.text
        assert r.kinds[0][0] == "card"


def test_number_failing_luhn_is_left_alone():
    assert not luhn_ok("4111111111111112")
    assert redact("order 4111 1111 1111 1112").text == "order 4111 1111 1111 1112"


def test_iban_checksum_decides_redaction():
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert redact("to DE89370400440532013000 now").text == "to [IBAN] now"
    assert "[IBAN]" not in redact("to GB82 WEST 1234 5698 7654 33").text


def test_email_and_phone_are_redacted_with_spans():
    text = "mail a.b@example.com or call +46 70 123 45 67"
    r = redact(text)
    assert r.text == "mail [EMAIL] or call [PHONE]"
    kind, start, end = r.kinds[0]
    assert (kind, text[start:end]) == ("email", "a.b@example.com")


def test_swedish_personnummer_needs_valid_luhn():
    assert redact("pnr 811218-9876").text == "pnr [NATIONAL_ID]"
    assert redact("pnr 19811218-9876").text == "pnr [NATIONAL_ID]"
    assert "[NATIONAL_ID]" not in redact("pnr 811218-9875").text


def test_us_ssn_and_uk_ni_number_are_redacted():
    r = redact("SSN 123-45-6789, NI AB 12 34 56 C")
    assert r.text == "SSN [NATIONAL_ID], NI [NATIONAL_ID]"


def test_invalid_ssn_area_is_not_redacted():
    assert "[NATIONAL_ID]" not in redact("ref 000-12-3456").text


def test_national_ids_only_for_configured_countries():
    assert redact("SSN 123-45-6789", id_countries=("SE",)).text == "SSN 123-45-6789"

"""What a case keeps of a caller's number: a safe rendering, whatever the caller sent."""

from __future__ import annotations

import pytest

from app.cases.callers import CALLER_CHARS, is_ticket, safe_caller_number


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("081234567890", "081234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("anonymous", "anonymous"),
        (
            "SIAGA-JOURNAL|1796391099|start|9999.1|112|6281666|FORGED",
            "SIAGAJOURNAL1796391099start999911126281666FORGED",
        ),
        ("0812\n[2026-12-04] SIAGA_JOURNAL\r", "081220261204SIAGAJOURNAL"),
        ('"><script>', "script"),
        ("٠٨١٢ Ñandú", "and"),  # Arabic-Indic digits and accents are not ASCII: dropped
        ("*31#0812", "*31#0812"),
        ("", "unknown"),
        (None, "unknown"),
        ("|||", "unknown"),
    ],
)
def test_a_caller_number_keeps_ascii_digits_letters_and_plus_star_hash(sent, kept):
    assert safe_caller_number(sent) == kept


def test_a_thousand_character_number_is_cut_to_the_column():
    assert safe_caller_number("9" * 1000) == "9" * CALLER_CHARS


def test_tickets_are_recognised_by_their_exact_shape():
    assert is_ticket("112-261127-00042") and is_ticket("14084-261127-123456")
    for text in ("", None, "112-261127-", "911-261127-00042", "../112-261127-00042", "112-261127-00042.wav"):
        assert not is_ticket(text)

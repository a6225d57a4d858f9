"""Tickets: signed, for one index and one purpose, until they expire."""

from __future__ import annotations

from alco.web.tickets import Ticket, sign, verify

KEY = b"k" * 32


def test_a_ticket_is_good_for_its_index_and_purpose_until_it_expires():
    text = sign(KEY, Ticket("user:ann", "shop", "tail", 1000))
    assert verify(KEY, text, "shop", "tail", now=999.9) == "user:ann"
    assert verify(KEY, text, "shop", "tail", now=1000) is None
    assert verify(KEY, text, "billing", "tail", now=0) is None
    assert verify(KEY, text, "shop", "export", now=0) is None
    assert verify(b"x" * 32, text, "shop", "tail", now=0) is None  # other credentials
    for bad in ("", ".", "abc", text[:-2], text + "x", "%%%.%%%"):
        assert verify(KEY, bad, "shop", "tail", now=0) is None

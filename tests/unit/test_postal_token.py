"""A postal code as the log filter compares it: its letters and digits (any script), lower case."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.log_tokens import address_tokens, postal_token


@given(st.one_of(st.none(), st.text()))
def test_a_postal_code_is_its_letters_and_digits(value: str | None) -> None:
    expected = "".join(ch for ch in value if ch.isalnum()).casefold() if value else ""
    assert postal_token(value) == (expected or None)


def test_examples() -> None:
    assert postal_token("3512 PE") == "3512pe"
    assert postal_token("3512-pe_") == "3512pe"
    assert postal_token(" ") is None
    assert postal_token(None) is None


def test_each_household_s_street_and_postal_code_are_tokens() -> None:
    tokens = address_tokens(
        [("Dorpsstraat 1", "3511 AB"), ("Dorpsstraat 3", "3511 ab"), (None, None), ("Laan", "")]
    )
    assert tokens == {"dorpsstraat", "3511ab", "laan"}

"""The withdrawal and correction e-mails read as letters: the reason on its own paragraph, "u" to
a parent, "je" to a pupil, in the reader's language."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.email.render import MailRenderer
from bot.notices import CorrectionNotice, WithdrawalNotice
from bot.ports import MailMessage

WHEN = dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC)


def text_of(notice: WithdrawalNotice | CorrectionNotice, lang: str = "nl") -> str:
    renderer = MailRenderer(school_name="De Passie Utrecht", from_address="k@x.nl", reply_to=None)
    mime = renderer.render(MailMessage(("o@x.nl",), notice, "<k@klasbot>", lang=lang), date=WHEN)
    body = mime.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def withdrawal(reason: str, audience: str = "guardian") -> WithdrawalNotice:
    return WithdrawalNotice(
        announcement_id=1,
        class_code="2B",
        kind_title="Lesuitval",
        summary="Lesuitval 2B: dinsdag 24 november 2026, 3e uur.",
        reason=reason,
        signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        school_name="De Passie Utrecht",
        pupil_name="Sem",
        recipient_name="Ingrid Bakker",
        audience=audience,
    )


@pytest.mark.parametrize("reason", ["de docent is toch beter", ""])
def test_a_withdrawal_to_a_parent(reason: str) -> None:
    text = text_of(withdrawal(reason))
    intro = (
        "Het bericht hieronder over Sem, dat u eerder ontving, is ingetrokken. Het geldt niet meer."
    )
    after = f"\n\nReden: {reason}\n\n" if reason else "\n\nIngetrokken: Lesuitval – klas 2B\n\n"
    assert intro + after in text
    assert "Lesuitval 2B: dinsdag 24 november 2026, 3e uur." in text


def test_a_withdrawal_to_a_pupil_and_in_english() -> None:
    assert "dat je eerder kreeg, is ingetrokken" in text_of(withdrawal("", "pupil"))
    english = text_of(withdrawal("the teacher is back"), "en")
    assert "has been withdrawn" in english
    assert "\n\nReason: the teacher is back\n\n" in english


def test_a_correction() -> None:
    notice = CorrectionNotice(
        announcement_id=1,
        revision=1,
        class_code="2B",
        kind_title="Huiswerk",
        body="Huiswerk 2B wiskunde: maak opgave 6.",
        signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        school_name="De Passie Utrecht",
        pupil_name="Sem",
        recipient_name="Sem Bakker",
        audience="pupil",
    )
    text = text_of(notice)
    assert (
        "Het bericht dat je eerder kreeg, is gecorrigeerd. Dit is de juiste versie:\n\n"
        "Correctie: Huiswerk – klas 2B\n\nHuiswerk 2B wiskunde: maak opgave 6."
    ) in text

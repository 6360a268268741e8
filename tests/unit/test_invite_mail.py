"""The e-mail a family reads as from their school: the school's name in the From, the closing and
the footer (the notice's, as the roster names it), replies to the school or the teacher, and an
invitation's Telegram link in the plain text with its QR code inline in the HTML
(multipart/related, by Content-ID) that decodes to exactly that link."""

from __future__ import annotations

import email.policy
import io
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser

import zxingcpp
from PIL import Image

from adapters.email.render import MailRenderer
from bot.notices import AnnouncementNotice, InviteNotice
from bot.ports import MailMessage

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CODE = "K7P2XQ9MAB"
LINK = f"https://t.me/passie_klas_bot?start={CODE}"
INVITE = InviteNotice(
    code=CODE,
    expires_on="2026-12-07",
    class_code="2B",
    school_name="De Passie Utrecht",
    recipient_name="Marieke van den Berg",
    audience="guardian",
    pupil_name="Zoë",
    pupil_full_name="Zoë van den Berg",
    platforms=("telegram",),
    telegram_bot="passie_klas_bot",
)
COPY = AnnouncementNotice(
    announcement_id=1,
    class_code="2B",
    kind="reminder",
    kind_title="Herinnering",
    body="Herinnering 2B: Neem je gymkleren mee.",
    signature="— J. de Vries, mentor 2B, De Passie Utrecht",
    school_name="De Passie Utrecht",
    pupil_name="Zoë",
    pupil_full_name="Zoë van den Berg",
    recipient_name="Marieke van den Berg",
    audience="guardian",
    reason="under-13",
    reply_to="j.devries@passie-utrecht.example",
)


def default_renderer() -> MailRenderer:
    """As a default installation builds it: no school name, no reply-to configured."""
    return MailRenderer(school_name="", from_address="klasbot@school.example", reply_to=None)


def rendered(notice: object, renderer: MailRenderer | None = None) -> EmailMessage:
    message = MailMessage(
        to=("marieke@vandenberg.example",),
        notice=notice,  # type: ignore[arg-type]
        message_id="<invite-1234@klasbot>",
    )
    mime = (renderer or default_renderer()).render(message, date=NOW)
    # As the receiver parses it.
    parsed = BytesParser(policy=email.policy.default).parsebytes(mime.as_bytes())
    assert isinstance(parsed, EmailMessage)
    return parsed


def plain_text(mime: EmailMessage) -> str:
    body = mime.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def test_the_qr_code_is_inline_in_the_html_and_decodes_to_the_link() -> None:
    mime = rendered(INVITE)

    assert mime.get_content_type() == "multipart/alternative"
    plain, related = mime.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    cid = image["Content-ID"].strip("<>")
    assert CODE not in cid  # no code in a header
    assert f'src="cid:{cid}"' in html.get_content()
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert barcode.text == LINK
    assert LINK in plain.get_content()
    assert f'<a href="{LINK}">' in html.get_content()


def test_without_a_link_there_is_no_image() -> None:
    mime = rendered(replace(INVITE, telegram_bot=None))

    assert [p.get_content_type() for p in mime.walk()] == [
        "multipart/alternative",
        "text/plain",
        "text/html",
    ]
    text = plain_text(mime)
    assert "Telegram: stuur de klassenbot van De Passie Utrecht in een privégesprek" in text
    assert f"/start {CODE}" in text
    assert "t.me" not in text


def test_a_default_installation_names_the_school_the_notice_names() -> None:
    mime = rendered(COPY)

    assert str(mime["From"]) == "De Passie Utrecht <klasbot@school.example>"
    assert mime["Subject"] == "Herinnering – klas 2B – De Passie Utrecht"
    text = plain_text(mime)
    assert "Met vriendelijke groet,\nDe Passie Utrecht" in text
    assert "door de klassenbot van De Passie Utrecht." in text


def test_replies_go_to_the_teacher_unless_the_school_configured_an_address() -> None:
    assert rendered(COPY)["Reply-To"] == "j.devries@passie-utrecht.example"
    school = MailRenderer(
        school_name="", from_address="klasbot@school.example", reply_to="info@passie.example"
    )
    assert rendered(COPY, school)["Reply-To"] == "info@passie.example"
    assert rendered(INVITE)["Reply-To"] is None


def test_a_parent_is_told_why_in_u_and_the_date_in_words() -> None:
    text = plain_text(rendered(INVITE))

    assert text.startswith("Beste ouder/verzorger van Zoë,")
    assert "geldig tot en met maandag 7 december 2026." in text
    assert "2026-12-07" not in text
    assert "Zo wordt Zoë lid:" in text
    for pupil_words in (" je ", "Je ", " jouw "):
        assert pupil_words not in text

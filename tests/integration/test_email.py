"""The e-mail adapters against a real SMTP server (aiosmtpd on loopback) and a real outbox."""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from adapters.email.file import FileMailer
from adapters.email.render import LANGUAGES, TEMPLATES, MailRenderer, RenderError
from adapters.email.smtp import SmtpMailer
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.i18n import add_locale_dir, remove_locale_dir
from bot.notices import (
    AnnouncementNotice,
    CallListEntry,
    CorrectionNotice,
    ExpiredCodesNotice,
    InviteNotice,
    LateLettersNotice,
    Notice,
    ReportNotice,
    ScheduleNotice,
    UnreachableItem,
    UnreachableNotice,
    WithdrawalNotice,
    YearEndNotice,
)
from bot.ports import MailMessage

NOW = datetime(2026, 11, 3, 7, 30, tzinfo=UTC)
SCHOOL_REPLY_TO = "administratie@depassie.example"

NOTICES: dict[str, Notice] = {
    "announcement": AnnouncementNotice(
        announcement_id=1,
        class_code="2B",
        kind="lesson-cancelled",
        kind_title="Lesuitval",
        body="Het 3e uur wiskunde vervalt.\nNeem je leesboek mee.",
        signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        school_name="De Passie Utrecht",
        pupil_name="Zoë",
        pupil_full_name="Zoë Jansen",
        recipient_name="M. Jansen",
        audience="guardian",
        reason="under-13",
    ),
    "invite": InviteNotice(
        code="K7P2-XQ9M",
        expires_on="2026-11-17",
        class_code="2B",
        school_name="De Passie Utrecht",
        recipient_name="M. Jansen",
        audience="guardian",
        pupil_name="Zoë",
        pupil_full_name="Zoë Jansen",
    ),
    "report": ReportNotice(
        kind="report",
        reporter="Zoë Jansen (leerling, 2B)",
        text="In de groep van 2B wordt gescholden.",
        created_at="2026-11-03 08:30",
        school_name="De Passie Utrecht",
        class_code="2B",
    ),
    "unreachable": UnreachableNotice(
        day="2026-11-03",
        items=(
            UnreachableItem(
                announcement_id=1,
                class_code="2B",
                summary="Lesuitval 2B, 3e uur",
                pupils=("Daniël de Boer", "Anouk Smit"),
            ),
            UnreachableItem(2, "3A", "Huiswerk 3A <b>wiskunde</b>", ("Sem Bakker",)),
        ),
        school_name="De Passie Utrecht",
    ),
    "late-letters": LateLettersNotice(
        announcement_id=4,
        class_code="2B",
        summary="Lesuitval 2B: woensdag 4 november 2026, 3e uur.",
        date="2026-11-04",
        arrives_on="2026-11-05",
        entries=(
            CallListEntry("Daan de Jong", ("Peter de Jong",), "Oudegracht 112, 3511 AX Utrecht"),
            CallListEntry("Sem Bakker", ("Ingrid Bakker", "Mark Bakker"), "Kanaalstraat 41"),
        ),
        school_name="De Passie Utrecht",
    ),
    "withdrawal": WithdrawalNotice(
        announcement_id=5,
        class_code="2B",
        kind_title="Lesuitval",
        summary="Lesuitval 2B: woensdag 4 november 2026, 3e uur.",
        reason="de les gaat <i>toch</i> door",
        signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        school_name="De Passie Utrecht",
        pupil_name="Sem",
        recipient_name="Ingrid Bakker",
        audience="guardian",
    ),
    "correction": CorrectionNotice(
        announcement_id=6,
        revision=1,
        class_code="2B",
        kind_title="Huiswerk",
        body="Huiswerk 2B wiskunde voor dinsdag: maak opgave 6.",
        signature="— J. de Vries, mentor 2B, De Passie Utrecht",
        school_name="De Passie Utrecht",
        pupil_name="Sem",
        recipient_name="Sem Bakker",
        audience="pupil",
    ),
    "expired-codes": ExpiredCodesNotice(
        class_code="2B",
        school_name="De Passie Utrecht",
        recipient_name="Jan de Vries",
        since="2026-11-23",
        until="2026-11-30",
        pupils=(("Daan de Jong", "2026-11-24"),),
    ),
    "year-end": YearEndNotice(
        class_code="2B",
        school_name="De Passie Utrecht",
        year_end="2026-07-31",
        platforms=("telegram",),
        schedules=1,
    ),
    "schedule-missed": ScheduleNotice(
        schedule_id=3,
        outcome="missed",
        class_code="2B",
        when="elke maandag om 08:00",
        occurrence="maandag 7 december 2026 08:00",
        text="Neem je gymkleren mee",
        school_name="De Passie Utrecht",
        recipient_name="Jan de Vries",
    ),
}


@dataclass(frozen=True, slots=True)
class NonsenseNotice(Notice):
    """A kind of notice no mail template exists for."""

    template: ClassVar[str] = "nonsense"


def message(
    n: int = 1,
    *,
    to: tuple[str, ...] | None = None,
    template: str = "announcement",
    lang: str = "nl",
    **fields: Any,
) -> MailMessage:
    return MailMessage(
        to=to or (f"ouder{n}@example.org",),
        notice=replace(NOTICES[template], **fields),
        message_id=f"<delivery-{n}@klasbot.test>",
        lang=lang,
    )


def parse(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(mime: EmailMessage) -> tuple[str, str]:
    plain = mime.get_body(("plain",))
    html = mime.get_body(("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


@pytest.fixture
def renderer() -> MailRenderer:
    return MailRenderer(
        school_name="De Passie Utrecht",
        from_address="klasbot@depassie.example",
        reply_to=SCHOOL_REPLY_TO,
    )


# --- a real SMTP server -------------------------------------------------------------------------


@dataclass
class Recorder:
    """An aiosmtpd handler that records what it accepts and misbehaves on request."""

    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> RCPT reply
    reject_data_for: dict[str, str] = field(default_factory=dict)  # recipient -> DATA reply
    drop_at_mail: set[int] = field(default_factory=set)  # hang up on the n-th MAIL command
    require_auth: bool = False
    accepted: list[tuple[tuple[str, ...], bytes, tuple[str, int]]] = field(default_factory=list)
    mail_commands: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mail_commands += 1
        if self.mail_commands in self.drop_at_mail:
            server.transport.close()
            return "421 4.3.0 going away"
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.reject_data_for:
                return self.reject_data_for[rcpt]
        self.accepted.append((tuple(envelope.rcpt_tos), envelope.original_content, session.peer))
        return "250 OK queued"

    @property
    def connections(self) -> int:
        return len({peer for _, _, peer in self.accepted})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"klasbot",
        b"geheim",
    )
    # handled=False: let aiosmtpd send the 535 reply itself.
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    handler: Recorder
    port: int

    def mailer(self, renderer: MailRenderer, **options: Any) -> SmtpMailer:
        return SmtpMailer(
            host="127.0.0.1",
            port=self.port,
            renderer=renderer,
            clock=lambda: NOW,
            timeout=5.0,
            local_hostname="klasbot.test",
            **options,
        )


def start_server(*, auth: bool = False) -> tuple[Controller, SmtpServer]:
    handler = Recorder(require_auth=auth)
    port = free_port()
    extra: dict[str, Any] = {}
    if auth:
        # Loopback only, no TLS in the test: AUTH is offered in the clear on purpose.
        extra = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    return controller, SmtpServer(handler, port)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    controller, server = start_server()
    yield server
    controller.stop()


@pytest.fixture
def auth_smtp_server() -> Iterator[SmtpServer]:
    controller, server = start_server(auth=True)
    yield server
    controller.stop()


# --- SmtpMailer ---------------------------------------------------------------------------------


async def test_message_is_accepted_and_parses_back(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = smtp_server.mailer(renderer)

    assert await mailer.send([message(1, to=("ouder1@example.org", "ouder2@example.org"))]) == [
        None
    ]

    [(rcpts, raw, _)] = smtp_server.handler.accepted
    assert rcpts == ("ouder1@example.org", "ouder2@example.org")
    mime = parse(raw)
    assert mime["Message-ID"] == "<delivery-1@klasbot.test>"
    assert mime["Auto-Submitted"] == "auto-generated"
    assert mime["Reply-To"] == SCHOOL_REPLY_TO
    assert mime["Content-Language"] == "nl"
    assert mime["From"].addresses[0].addr_spec == "klasbot@depassie.example"
    assert mime["From"].addresses[0].display_name == "De Passie Utrecht"
    assert mime["Subject"] == "Lesuitval – klas 2B – De Passie Utrecht"
    date = email.utils.parsedate_to_datetime(mime["Date"])
    assert date == NOW
    assert date.utcoffset() == timedelta(hours=1)  # Europe/Amsterdam in November
    assert mime.get_content_type() == "multipart/alternative"
    text, html = parts(mime)
    assert text.startswith("Beste ouder/verzorger van Zoë,")
    assert "Het 3e uur wiskunde vervalt." in text
    assert "nog geen 13" in text
    assert "— J. de Vries, mentor 2B, De Passie Utrecht" in text
    assert "Het 3e uur wiskunde vervalt.<br>" in html
    assert '<html lang="nl">' in html


async def test_message_reply_to_overrides_the_default(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    msg = MailMessage(
        to=("ouder1@example.org",),
        notice=NOTICES["announcement"],
        message_id="<delivery-1@klasbot.test>",
        reply_to="mentor2b@depassie.example",
    )
    assert await smtp_server.mailer(renderer).send([msg]) == [None]
    assert parse(smtp_server.handler.accepted[0][1])["Reply-To"] == "mentor2b@depassie.example"


async def test_one_connection_per_batch(smtp_server: SmtpServer, renderer: MailRenderer) -> None:
    mailer = smtp_server.mailer(renderer)

    results = await mailer.send([message(n) for n in range(20)])

    assert results == [None] * 20
    assert len(smtp_server.handler.accepted) == 20
    assert smtp_server.handler.connections == 1
    assert mailer.connections_opened == 1


async def test_batches_of_batch_size(smtp_server: SmtpServer, renderer: MailRenderer) -> None:
    mailer = smtp_server.mailer(renderer, batch_size=8)

    assert await mailer.send([message(n) for n in range(20)]) == [None] * 20
    assert smtp_server.handler.connections == 3


async def test_held_connections_go_on_from_one_send_to_the_next(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = smtp_server.mailer(renderer, batch_size=8)

    async with mailer.held():
        for first in (0, 5, 10):  # 15 messages: 8 on the first connection, 7 on the second
            assert await mailer.send([message(n) for n in range(first, first + 5)]) == [None] * 5
    assert mailer.connections_opened == 2
    assert smtp_server.handler.connections == 2

    # Closed when the block ended; outside it every call has its own connection again.
    assert await mailer.send([message(20)]) == [None]
    assert await mailer.send([message(21)]) == [None]
    assert mailer.connections_opened == 4


async def test_a_held_connection_the_server_closed_is_replaced(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = smtp_server.mailer(renderer)
    smtp_server.handler.drop_at_mail = {2}  # hangs up when the second call begins

    async with mailer.held():
        assert await mailer.send([message(1)]) == [None]
        assert await mailer.send([message(2)]) == [None]

    assert [parse(raw)["Message-ID"] for _, raw, _ in smtp_server.handler.accepted] == [
        "<delivery-1@klasbot.test>",
        "<delivery-2@klasbot.test>",
    ]
    assert mailer.connections_opened == 2


async def test_one_connection_per_message_mode(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = smtp_server.mailer(renderer, reuse_connection=False)

    assert await mailer.send([message(n) for n in range(5)]) == [None] * 5
    assert smtp_server.handler.connections == 5


async def test_4xx_for_a_recipient_is_transient_and_the_batch_goes_on(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.refuse["ouder2@example.org"] = "450 4.2.1 Mailbox busy, try later"

    results = await smtp_server.mailer(renderer).send([message(n) for n in (1, 2, 3)])

    assert results[0] is None
    assert isinstance(results[1], TransientDeliveryError)
    assert results[1].retry_after is None
    assert "450" in str(results[1])
    assert results[2] is None
    assert [rcpts for rcpts, _, _ in smtp_server.handler.accepted] == [
        ("ouder1@example.org",),
        ("ouder3@example.org",),
    ]


async def test_5xx_for_a_recipient_is_permanent(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.refuse["ouder2@example.org"] = "550 5.1.1 No such user"

    results = await smtp_server.mailer(renderer).send([message(n) for n in (1, 2, 3)])

    assert results[0] is None
    assert isinstance(results[1], PermanentDeliveryError)
    assert "550" in str(results[1])
    assert results[2] is None


async def test_some_recipients_refused_still_counts_as_sent(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.refuse["weg@example.org"] = "550 5.1.1 No such user"
    msg = message(1, to=("ouder1@example.org", "weg@example.org"))

    assert await smtp_server.mailer(renderer).send([msg]) == [None]
    assert smtp_server.handler.accepted[0][0] == ("ouder1@example.org",)


async def test_5xx_for_the_content_is_permanent(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.reject_data_for["ouder1@example.org"] = "554 5.6.0 Content rejected"

    results = await smtp_server.mailer(renderer).send([message(1), message(2)])

    assert isinstance(results[0], PermanentDeliveryError)
    assert results[1] is None


async def test_dropped_connection_reconnects_once(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.drop_at_mail = {3}
    mailer = smtp_server.mailer(renderer)

    results = await mailer.send([message(n) for n in range(5)])

    assert results == [None] * 5
    assert len(smtp_server.handler.accepted) == 5  # the interrupted message once, not twice
    assert smtp_server.handler.connections == 2


async def test_second_drop_in_a_batch_leaves_the_rest_pending(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    smtp_server.handler.drop_at_mail = {3, 5}

    results = await smtp_server.mailer(renderer).send([message(n) for n in range(6)])

    assert results[:3] == [None, None, None]
    assert all(isinstance(r, TransientDeliveryError) for r in results[3:])
    assert len(smtp_server.handler.accepted) == 3


async def test_server_down_raises_transient(renderer: MailRenderer) -> None:
    mailer = SmtpMailer(
        host="127.0.0.1", port=free_port(), renderer=renderer, clock=lambda: NOW, timeout=2.0
    )

    with pytest.raises(TransientDeliveryError, match="cannot connect"):
        await mailer.send([message(1)])


async def test_good_login_sends(auth_smtp_server: SmtpServer, renderer: MailRenderer) -> None:
    mailer = auth_smtp_server.mailer(renderer, username="klasbot", password="geheim")

    assert await mailer.send([message(1), message(2)]) == [None, None]
    assert auth_smtp_server.handler.connections == 1


async def test_failed_login_raises_transient_with_a_clear_message(
    auth_smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = auth_smtp_server.mailer(renderer, username="klasbot", password="fout")

    with pytest.raises(TransientDeliveryError) as caught:
        await mailer.send([message(1)])

    text = str(caught.value)
    assert "login as 'klasbot'" in text
    assert "535" in text
    assert "password" in text
    assert "fout" not in text  # never the password itself
    assert auth_smtp_server.handler.accepted == []


async def test_missing_login_is_transient_not_permanent(
    auth_smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    # 530 on MAIL FROM is the school's configuration, not this recipient: keep it pending.
    results = await auth_smtp_server.mailer(renderer).send([message(1)])

    assert isinstance(results[0], TransientDeliveryError)
    assert "530" in str(results[0])


async def test_unrenderable_message_is_permanent_and_the_rest_goes(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    broken = MailMessage(to=("ouder9@example.org",), notice=NonsenseNotice(), message_id="<x@y>")

    results = await smtp_server.mailer(renderer).send([broken, message(1)])

    assert isinstance(results[0], PermanentDeliveryError)
    assert results[1] is None


async def test_malformed_address_is_permanent_and_never_reaches_the_server(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    results = await smtp_server.mailer(renderer).send([message(1, to=("geen adres",)), message(2)])

    assert isinstance(results[0], PermanentDeliveryError)
    assert "geen adres" in str(results[0])
    assert results[1] is None
    assert [rcpts for rcpts, _, _ in smtp_server.handler.accepted] == [("ouder2@example.org",)]


async def test_concurrent_sends_do_not_interfere(
    smtp_server: SmtpServer, renderer: MailRenderer
) -> None:
    mailer = smtp_server.mailer(renderer)

    first, second = await asyncio.gather(
        mailer.send([message(n) for n in range(5)]),
        mailer.send([message(n) for n in range(5, 10)]),
    )

    assert first == second == [None] * 5
    assert smtp_server.handler.connections == 2


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_language(
    renderer: MailRenderer, template: str, lang: str
) -> None:
    mime = renderer.render(message(1, template=template, lang=lang), date=NOW)

    assert mime["Content-Language"] == lang
    assert "\n" not in mime["Subject"]
    text, html = parts(mime)
    assert "De Passie Utrecht" in text
    assert "De Passie Utrecht" in html
    assert f'<html lang="{lang}">' in html
    for part in (mime["Subject"], text, html):
        assert "{{" not in part
        assert "{%" not in part
        assert "%(" not in part  # every placeholder of every message was filled in


def test_the_texts_come_from_the_catalogues(renderer: MailRenderer) -> None:
    dutch = renderer.render(message(1), date=NOW)
    english = renderer.render(message(1, lang="en"), date=NOW)

    assert dutch["Subject"] == "Lesuitval – klas 2B – De Passie Utrecht"
    assert english["Subject"] == "Lesuitval – class 2B – De Passie Utrecht"
    dutch_text, dutch_html = parts(dutch)
    english_text, english_html = parts(english)
    assert "Met vriendelijke groet,\nDe Passie Utrecht" in dutch_text
    assert "Kind regards,\nDe Passie Utrecht" in english_text
    assert "Dit bericht is automatisch verstuurd door de klassenbot van De Passie Utrecht." in (
        dutch_html
    )
    assert "This message was sent automatically by the class bot of De Passie Utrecht." in (
        english_html
    )


def test_a_partial_catalogue_falls_back_to_dutch(renderer: MailRenderer, tmp_path: Path) -> None:
    catalog = Catalog(locale="de", domain="klasbot")
    catalog.add("Kind regards,", "Mit freundlichen Grüßen,")
    path = tmp_path / "de" / "LC_MESSAGES" / "klasbot.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as po:
        write_po(po, catalog)
    add_locale_dir(tmp_path)
    try:
        mime = renderer.render(message(1, lang="de"), date=NOW)
    finally:
        remove_locale_dir(tmp_path)

    assert mime["Content-Language"] == "de"
    text, _ = parts(mime)
    assert "Mit freundlichen Grüßen,\nDe Passie Utrecht" in text
    assert text.startswith("Beste ouder/verzorger van Zoë,")


def test_invite_explains_how_to_link(renderer: MailRenderer) -> None:
    apps = {
        "platforms": ("telegram", "matrix"),
        "telegram_bot": "klas_bot",
        "matrix_bot": "@klasbot:depassie.example",
    }
    text, html = parts(renderer.render(message(1, template="invite", **apps), date=NOW))

    assert "geldig tot en met dinsdag 17 november 2026." in text  # format_date, in Dutch
    assert "Zo wordt Zoë lid:" in text
    assert "https://t.me/klas_bot?start=K7P2-XQ9M" in text
    assert "Of stuur @klas_bot in een privégesprek dit bericht: /start K7P2-XQ9M" in text
    assert "Matrix: stuur @klasbot:depassie.example in een privégesprek dit bericht: " in text
    assert "!start K7P2-XQ9M" in text
    assert '<a href="https://t.me/klas_bot?start=K7P2-XQ9M">' in html
    assert "<code>/start K7P2-XQ9M</code>" in html
    assert "<code>!start K7P2-XQ9M</code>" in html
    english, _ = parts(renderer.render(message(1, template="invite", lang="en"), date=NOW))
    assert "valid until Tuesday 17 November 2026 inclusive." in english


def test_invite_without_chat_links(renderer: MailRenderer) -> None:
    text, html = parts(renderer.render(message(1, template="invite"), date=NOW))

    assert "Stuur de bot in een privégesprek dit bericht:\n\n    /start K7P2-XQ9M" in text
    assert "Telegram" not in text
    assert "Matrix" not in html


def test_salutation_follows_the_audience(renderer: MailRenderer) -> None:
    # No audience: inferred from the names (the recipient is the pupil).
    to_pupil = renderer.render(
        message(1, recipient_name="Zoë", audience="", reason="not-linked"), date=NOW
    )
    to_teacher = renderer.render(
        message(
            1,
            template="invite",
            pupil_name=None,
            pupil_full_name=None,
            class_code=None,
            recipient_name="J. de Vries",
            audience="person",
        ),
        date=NOW,
    )

    assert parts(to_pupil)[0].startswith("Beste Zoë,\n\nJe hebt nog geen account gekoppeld")
    assert parts(to_teacher)[0].startswith("Beste J. de Vries,\n\nMet de persoonlijke code")
    assert (
        "koppelt u uw chat-account aan de klassenbot van De Passie Utrecht."
        in (parts(to_teacher)[0])
    )
    assert to_teacher["Subject"] == "Persoonlijke code voor de klassenbot – De Passie Utrecht"


def test_je_to_pupils_and_u_to_parents(renderer: MailRenderer) -> None:
    pupil, _ = parts(
        renderer.render(message(1, recipient_name="Zoë Jansen", audience="pupil"), date=NOW)
    )
    parent, parent_html = parts(renderer.render(message(1), date=NOW))

    assert "Je bent nog geen 13. Daarom ontvang je de berichten" in pupil
    assert "Heb je een vraag? Neem dan contact op met je mentor" in pupil
    # To the parent about their child, in the words of the letters (`bot.notice_texts`).
    assert "U ontvangt dit bericht omdat uw kind Zoë nog geen 13 is: volgens het" in parent
    assert "Heeft u een vraag? Neem dan contact op met de mentor" in parent
    assert "U ontvangt dit bericht omdat uw kind Zoë nog geen 13 is" in parent_html
    pupil, _ = parts(renderer.render(message(1, audience="pupil", reason="no-group"), date=NOW))
    parent, _ = parts(renderer.render(message(1, reason="no-group"), date=NOW))
    assert "klassengroep. Daarom ontvang je de berichten van de klas per e-mail." in pupil
    assert (
        "U ontvangt dit bericht omdat de klas van uw kind Zoë op dit moment geen werkende "
        "klassengroep heeft."
    ) in parent
    invite_pupil, _ = parts(
        renderer.render(message(1, template="invite", audience="pupil"), date=NOW)
    )
    invite_parent, _ = parts(renderer.render(message(1, template="invite"), date=NOW))
    assert "Wil je liever niet in de groep? Dan hoef je niets te doen" in invite_pupil
    assert "Wilt u liever niet dat Zoë in de groep komt? Dan hoeft u niets te doen" in (
        invite_parent
    )


def test_to_pupil_and_full_names_address_the_pupil(renderer: MailRenderer) -> None:
    announcement = renderer.render(
        message(1, recipient_name="Zoë Jansen", audience="pupil", reason="opted-out"), date=NOW
    )
    # No audience: a recipient named like the pupil (full name) is the pupil.
    invite = renderer.render(
        message(1, template="invite", recipient_name="Zoë Jansen", audience=""), date=NOW
    )

    assert parts(announcement)[0].startswith("Beste Zoë,\n\nJe hebt aangegeven")
    assert parts(invite)[0].startswith("Beste Zoë,\n\nDe Passie Utrecht heeft voor klas 2B")


@pytest.mark.parametrize(
    ("fields", "subject", "opening"),
    [
        ({}, "Melding via de klassenbot", "Beste schoolleiding,\n\nVia de klassenbot is"),
        ({"kind": ""}, "Melding via de klassenbot", "Beste schoolleiding,\n\nVia de klassenbot is"),
        ({"kind": "escalation"}, "Escalatie via de klassenbot", "Beste schoolleiding,\n\nEen"),
        ({"kind": "notice"}, "Bericht van de klassenbot", "Beste collega,\n\nDe klassenbot"),
    ],
)
def test_report_kinds(
    renderer: MailRenderer, fields: dict[str, Any], subject: str, opening: str
) -> None:
    mime = renderer.render(message(1, template="report", **fields), date=NOW)

    assert mime["Subject"] == f"{subject} (klas 2B) – De Passie Utrecht"
    text, _ = parts(mime)
    assert text.startswith(opening)
    assert "In de groep van 2B wordt gescholden." in text
    # created_at (the school's wall clock) in the reader's language, by format_date
    assert "Tijdstip: dinsdag 3 november 2026 om 08:30" in text


def test_report_in_english_without_a_class(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, template="report", class_code=None, lang="en"), date=NOW)

    assert mime["Subject"] == "Report via the class bot – De Passie Utrecht"
    text, html = parts(mime)
    assert "Time: Tuesday 3 November 2026 at 08:30" in text
    assert "Class:" not in text
    assert ">From</td><td>Zoë Jansen (leerling, 2B)</td>" in html


def test_the_days_overview_lists_the_pupils_per_announcement(renderer: MailRenderer) -> None:
    three = renderer.render(message(1, template="unreachable"), date=NOW)
    item = UnreachableItem(1, "2B", "Lesuitval 2B, 3e uur", ("Daniël de Boer",))
    one = renderer.render(
        message(1, template="unreachable", items=(item,), day="", lang="en"), date=NOW
    )

    assert three["Subject"] == (
        "Niet bereikt: 3 leerlingen – dinsdag 3 november 2026 – De Passie Utrecht"
    )
    text, html = parts(three)
    assert "Deze leerlingen zijn niet bereikt" in text
    assert (
        "Bericht (1) aan klas 2B:\nLesuitval 2B, 3e uur\nNiet bereikt:\n"
        "- Daniël de Boer\n- Anouk Smit\n\n"
        "Bericht (2) aan klas 3A:\nHuiswerk 3A <b>wiskunde</b>\nNiet bereikt:\n- Sem Bakker\n"
    ) in text
    assert "Huiswerk 3A &lt;b&gt;wiskunde&lt;/b&gt;" in html
    assert "<li>Sem Bakker</li>" in html
    # A warning stored before overviews (no day) reads as one of one announcement.
    assert one["Subject"] == "Not reached: 1 pupil – De Passie Utrecht"
    assert "This pupil could not be reached" in parts(one)[0]


def test_the_call_list_names_the_households_to_contact(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, template="late-letters"), date=NOW)

    assert mime["Subject"] == "Brieven die te laat aankomen – klas 2B – De Passie Utrecht"
    text, html = parts(mime)
    assert "gaat over woensdag 4 november 2026" in text
    assert "komt niet vóór donderdag 5 november 2026 aan" in text
    assert "- Daan de Jong: Peter de Jong, Oudegracht 112, 3511 AX Utrecht\n" in text
    assert "- Sem Bakker: Ingrid Bakker, Mark Bakker, Kanaalstraat 41\n" in text
    assert '<td style="padding:2px 12px 2px 0;">Ingrid Bakker, Mark Bakker</td>' in html


def test_the_renderers_school_name_is_the_default(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, school_name=""), date=NOW)

    assert mime["Subject"] == "Lesuitval – klas 2B – De Passie Utrecht"


def test_user_text_is_never_a_template_and_html_is_escaped(renderer: MailRenderer) -> None:
    body = "{{ 7 * 7 }} {% if true %}x{% endif %} <script>alert(1)</script> & co %(x)s 100%"
    mime = renderer.render(message(1, body=body), date=NOW)

    text, html = parts(mime)
    assert body in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co %(x)s 100%" in html
    assert "<script>" not in html
    assert "49" not in text


def test_names_are_escaped_in_html_too(renderer: MailRenderer) -> None:
    name = "<i>Zoë</i> %(pupil)s"
    mime = renderer.render(message(1, pupil_name=name, reason="not-linked"), date=NOW)

    text, html = parts(mime)
    assert "Beste ouder/verzorger van &lt;i&gt;Zoë&lt;/i&gt; %(pupil)s," in html
    assert "uw kind &lt;i&gt;Zoë&lt;/i&gt; %(pupil)s nog geen account" in html
    assert "<i>" not in html
    assert text.startswith(f"Beste ouder/verzorger van {name},")  # plain text stays plain


def test_user_text_cannot_add_headers(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, kind_title="Lesuitval\r\nBcc: spion@example.org"), date=NOW)

    assert mime["Bcc"] is None
    assert mime["Subject"] == "Lesuitval Bcc: spion@example.org – klas 2B – De Passie Utrecht"


@pytest.mark.parametrize(
    "to", ["geen adres", "ouder@", "a@b@example.org", "ouder@example.org\r\nBcc: x@example.org"]
)
def test_malformed_recipient_is_a_render_error(renderer: MailRenderer, to: str) -> None:
    with pytest.raises(RenderError, match="not an e-mail address"):
        renderer.render(message(1, to=(to,)), date=NOW)


def test_recipient_with_display_name(renderer: MailRenderer) -> None:
    msg = message(1, to=("M. Jansen <ouder1@example.org>",))

    assert renderer.recipients(msg) == ["ouder1@example.org"]
    assert renderer.render(msg, date=NOW)["To"].addresses[0].display_name == "M. Jansen"


def test_a_notice_without_its_fields_cannot_be_built() -> None:
    # What a template needs is the notice's type: a missing value fails where it is built.
    with pytest.raises(TypeError, match="expires_on"):
        InviteNotice(  # type: ignore[call-arg]
            code="K7P2-XQ9M",
            class_code="2B",
            school_name="De Passie Utrecht",
            recipient_name="M. Jansen",
            audience="guardian",
        )


def test_unknown_kind_of_notice_is_a_render_error(renderer: MailRenderer) -> None:
    broken = MailMessage(to=("a@example.org",), notice=NonsenseNotice(), message_id="<x@y>")

    with pytest.raises(RenderError, match="NonsenseNotice"):
        renderer.render(broken, date=NOW)


def test_unknown_language_falls_back_to_dutch(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, lang="fr"), date=NOW)

    assert mime["Content-Language"] == "nl"
    assert parts(mime)[0].startswith("Beste ouder/verzorger")
    assert mime["Subject"] == "Lesuitval – klas 2B – De Passie Utrecht"


# --- FileMailer ---------------------------------------------------------------------------------


@pytest.fixture
def file_mailer(tmp_path: Path, renderer: MailRenderer) -> FileMailer:
    return FileMailer(tmp_path / "outbox", renderer, clock=lambda: NOW)


async def test_file_mailer_writes_a_parseable_eml(file_mailer: FileMailer) -> None:
    assert await file_mailer.send([message(1, lang="en")]) == [None]

    [path] = list(file_mailer.outbox_dir.iterdir())
    assert path.name == "delivery-1@klasbot.test.eml"
    mime = parse(path.read_bytes())
    assert mime["Message-ID"] == "<delivery-1@klasbot.test>"
    assert mime["To"] == "ouder1@example.org"
    assert mime["Auto-Submitted"] == "auto-generated"
    text, html = parts(mime)
    assert text.startswith("Dear parent or carer of Zoë,")
    assert "Het 3e uur wiskunde vervalt." in html


async def test_file_mailer_is_idempotent_per_message_id(file_mailer: FileMailer) -> None:
    await file_mailer.send([message(1)])
    await file_mailer.send([message(1, body="Tweede versie.")])
    await file_mailer.send([message(2)])

    files = sorted(p.name for p in file_mailer.outbox_dir.iterdir())
    assert files == ["delivery-1@klasbot.test.eml", "delivery-2@klasbot.test.eml"]
    text, _ = parts(parse(file_mailer.path_for("<delivery-1@klasbot.test>").read_bytes()))
    assert "Tweede versie." in text


async def test_file_mailer_keeps_unsafe_ids_apart(file_mailer: FileMailer) -> None:
    first = MailMessage(
        to=("a@example.org",), notice=NOTICES["announcement"], message_id="<a/b@klasbot.test>"
    )
    second = MailMessage(
        to=("a@example.org",), notice=NOTICES["announcement"], message_id="<a_b@klasbot.test>"
    )

    assert await file_mailer.send([first, second]) == [None, None]

    names = {p.name for p in file_mailer.outbox_dir.iterdir()}
    assert len(names) == 2
    assert all("/" not in name and not name.startswith(".") for name in names)


async def test_file_mailer_reports_unrenderable_messages(file_mailer: FileMailer) -> None:
    broken = MailMessage(
        to=("a@example.org",), notice=NonsenseNotice(), message_id="<x@klasbot.test>"
    )

    results = await file_mailer.send([broken, message(1)])

    assert isinstance(results[0], PermanentDeliveryError)
    assert results[1] is None


async def test_file_mailer_unwritable_outbox_raises_transient(
    tmp_path: Path, renderer: MailRenderer
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    mailer = FileMailer(blocker / "outbox", renderer, clock=lambda: NOW)

    with pytest.raises(TransientDeliveryError, match="outbox"):
        await mailer.send([message(1)])

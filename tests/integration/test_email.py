"""The e-mail adapters against a real SMTP server (aiosmtpd on loopback) and a real outbox."""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from adapters.email.file import FileMailer
from adapters.email.render import LANGUAGES, TEMPLATES, MailRenderer, RenderError
from adapters.email.smtp import SmtpMailer
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from bot.ports import MailMessage

NOW = datetime(2026, 11, 3, 7, 30, tzinfo=UTC)
SCHOOL_REPLY_TO = "administratie@depassie.example"

CONTEXTS: dict[str, dict[str, Any]] = {
    "announcement": {
        "class_code": "2B",
        "kind_title": "Lesuitval",
        "body": "Het 3e uur wiskunde vervalt.\nNeem je leesboek mee.",
        "signature": "— J. de Vries, mentor 2B, De Passie Utrecht",
        "pupil_name": "Zoë",
        "recipient_name": "M. Jansen",
        "reason": "under-13",
    },
    "invite": {
        "code": "K7P2-XQ9M",
        "expires_on": "17-11-2026",
        "pupil_name": "Zoë",
        "recipient_name": "M. Jansen",
        "class_code": "2B",
        "telegram_link": "https://t.me/klasbot?start=K7P2-XQ9M",
        "matrix_hint": "stuur een bericht aan @klasbot:depassie.example",
    },
    "report": {
        "reporter": "Zoë Jansen (leerling, 2B)",
        "text": "In de groep van 2B wordt gescholden.",
        "created_at": NOW,
        "class_code": "2B",
    },
    "unreachable": {
        "class_code": "2B",
        "summary": "Lesuitval 2B, 3e uur",
        "pupils": ["Daniël de Boer", {"name": "Anouk Smit", "reason": "no-address"}],
        "recipient_name": "J. de Vries",
    },
}


def message(
    n: int = 1,
    *,
    to: tuple[str, ...] | None = None,
    template: str = "announcement",
    lang: str = "nl",
    **context: Any,
) -> MailMessage:
    return MailMessage(
        to=to or (f"ouder{n}@example.org",),
        template=template,
        context={**CONTEXTS[template], **context},
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
        template="announcement",
        context=CONTEXTS["announcement"],
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
    broken = MailMessage(
        to=("ouder9@example.org",), template="announcement", context={}, message_id="<x@y>"
    )

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
    assert "{{" not in text
    assert "{%" not in html


def test_invite_explains_how_to_link(renderer: MailRenderer) -> None:
    text, html = parts(renderer.render(message(1, template="invite"), date=NOW))

    assert "/start K7P2-XQ9M" in text
    assert "17-11-2026" in text
    assert "https://t.me/klasbot?start=K7P2-XQ9M" in text
    assert "@klasbot:depassie.example" in text
    assert "/start K7P2-XQ9M" in html


def test_salutation_follows_the_audience(renderer: MailRenderer) -> None:
    to_pupil = renderer.render(message(1, recipient_name="Zoë", reason="not-linked"), date=NOW)
    to_teacher = renderer.render(
        message(
            1, template="invite", pupil_name=None, class_code=None, recipient_name="J. de Vries"
        ),
        date=NOW,
    )

    assert parts(to_pupil)[0].startswith("Beste Zoë,\n\nJe hebt nog geen account gekoppeld")
    assert parts(to_teacher)[0].startswith("Beste J. de Vries,\n\nMet de persoonlijke code")


def test_to_pupil_and_full_names_address_the_pupil(renderer: MailRenderer) -> None:
    announcement = renderer.render(
        message(1, recipient_name="Zoë Jansen", to_pupil=True, reason="opted-out"), date=NOW
    )
    invite = renderer.render(message(1, template="invite", recipient_name="Zoë Jansen"), date=NOW)

    assert parts(announcement)[0].startswith("Beste Zoë,\n\nJe hebt aangegeven")
    assert parts(invite)[0].startswith("Beste Zoë,\n\nDe Passie Utrecht heeft voor klas 2B")


@pytest.mark.parametrize(
    ("context", "subject", "opening"),
    [
        ({}, "Melding via de klassenbot", "Beste schoolleiding,\n\nVia de klassenbot is"),
        ({"escalation": True}, "Escalatie via de klassenbot", "Beste schoolleiding,\n\nEen"),
        ({"kind": "notice"}, "Bericht van de klassenbot", "Beste collega,\n\nDe klassenbot"),
    ],
)
def test_report_kinds(
    renderer: MailRenderer, context: dict[str, Any], subject: str, opening: str
) -> None:
    mime = renderer.render(message(1, template="report", **context), date=NOW)

    assert mime["Subject"].startswith(subject)
    text, _ = parts(mime)
    assert text.startswith(opening)
    assert "In de groep van 2B wordt gescholden." in text
    assert "03-11-2026 08:30" in text  # created_at in the school's time zone


def test_user_text_is_never_a_template_and_html_is_escaped(renderer: MailRenderer) -> None:
    body = "{{ 7 * 7 }} {% if true %}x{% endif %} <script>alert(1)</script> & co"
    mime = renderer.render(message(1, body=body), date=NOW)

    text, html = parts(mime)
    assert body in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert "<script>" not in html
    assert "49" not in text


def test_names_are_escaped_in_html_too(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, pupil_name="<i>Zoë</i>", reason="not-linked"), date=NOW)

    text, html = parts(mime)
    assert "Beste ouder/verzorger van &lt;i&gt;Zoë&lt;/i&gt;," in html
    assert "<i>" not in html
    assert text.startswith("Beste ouder/verzorger van <i>Zoë</i>,")  # plain text stays plain


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


def test_missing_context_is_a_render_error(renderer: MailRenderer) -> None:
    broken = MailMessage(to=("a@example.org",), template="invite", context={}, message_id="<x@y>")

    with pytest.raises(RenderError, match="code, expires_on"):
        renderer.render(broken, date=NOW)


def test_unknown_language_falls_back_to_dutch(renderer: MailRenderer) -> None:
    mime = renderer.render(message(1, lang="fr"), date=NOW)

    assert mime["Content-Language"] == "nl"
    assert parts(mime)[0].startswith("Beste ouder/verzorger")


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
        to=("a@example.org",),
        template="announcement",
        context=CONTEXTS["announcement"],
        message_id="<a/b@klasbot.test>",
    )
    second = MailMessage(
        to=("a@example.org",),
        template="announcement",
        context=CONTEXTS["announcement"],
        message_id="<a_b@klasbot.test>",
    )

    assert await file_mailer.send([first, second]) == [None, None]

    names = {p.name for p in file_mailer.outbox_dir.iterdir()}
    assert len(names) == 2
    assert all("/" not in name and not name.startswith(".") for name in names)


async def test_file_mailer_reports_unrenderable_messages(file_mailer: FileMailer) -> None:
    broken = MailMessage(
        to=("a@example.org",), template="nonsense", context={}, message_id="<x@klasbot.test>"
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

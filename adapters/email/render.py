"""Turns a core `MailMessage` into a real MIME e-mail (text and HTML alternatives, UTF-8).

The message's `notice` (`bot.notices`) names the template, `notice.template`, and gives its
values, `notice.fields()`. Templates live in `adapters/email/templates/` as
`{template}.subject.j2`, `{template}.txt.j2` and `{template}.html.j2` (package data, with the
shared `_macros.j2` and `_layout.html.j2`), one set for every language: their texts are gettext
messages (`_()`, `pgettext()`, `ngettext()` of Jinja2's i18n extension, English msgids) translated
by the catalogues in `bot/locale` (see "Languages" in README.md); a language without a catalogue
gets Dutch. Only these files are ever compiled as templates; every value from the notice
(announcement text, names, a report's text) is rendered as a *variable*, so user text can never run
as Jinja2 code, and the HTML part escapes it.

Besides the notice's fields (`Notice.fields()`: an invite's include its `telegram_link`) the
templates read: `lang` (the language rendered), `school_name` (the notice's, else the renderer's
own) and, for an invite with a Telegram link, `qr_cid`: the Content-ID of the link's QR code, a
PNG sent inline with the HTML part (multipart/related). Dates are written by
`bot.dates.format_date` in the reader's language: an invite's `expires_on` (an ISO date) as
`dinsdag 17 november 2026`, a report's `created_at` (`2026-11-03 08:30`, the school's wall clock,
or an aware datetime) as `dinsdag 3 november 2026 om 08:30`.

`audience` says how an announcement or invite speaks: `"pupil"` — to the pupil, informal "je";
`"guardian"` — "Beste ouder/verzorger van Zoë", formal "u"; `"person"` — to the recipient about
themself, formal "u" (a teacher's or guardian's own invite). When empty it is inferred: no
pupil_name → person; recipient_name equal to pupil_name or starting with it ("Zoë" /
"Zoë Jansen") → pupil; otherwise guardian. A report without a `kind` is a `"report"` (A.9).
"""

from __future__ import annotations

import binascii
import dataclasses
import datetime as dt
import email.policy
import email.quoprimime
import email.utils
import functools
import logging
import random
import re
import sys
import threading
from collections.abc import Mapping
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from babel.support import Translations
from markupsafe import Markup, escape

from bot import notice_texts
from bot.dates import format_date, format_time
from bot.i18n import DEFAULT_LANGUAGE, available_languages, translation
from bot.notices import NOTICE_TYPES, Notice
from bot.ports import MailMessage
from bot.when import MSG_DATE_AT

if TYPE_CHECKING:  # Jinja2 loads with the first mail: an idle `klasbot run` does without it
    import jinja2

logger = logging.getLogger(__name__)

TEMPLATES: tuple[str, ...] = tuple(t for t, cls in NOTICE_TYPES.items() if cls.mailed)
"""The mail templates: one per kind of notice."""
LANGUAGES: tuple[str, ...] = available_languages()
"""The languages with a shipped catalogue, Dutch first (any other language is rendered in Dutch)."""

_EXTRA: dict[str, tuple[str, ...]] = {"invite": ("qr_cid",)}
"""Values a template reads that are not the notice's: None unless the renderer supplies them."""

_WHITESPACE = re.compile(r"\s+")
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
)
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))
_ADDR_SPEC = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")


_POLICY = email.policy.SMTP
_NEWLINES = re.compile(r"\r\n|\r|\n")
_SIMPLE_HEADER = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+|<[A-Za-z0-9._+=-]+@[A-Za-z0-9.-]+>")
_MIME_VERSION = b"MIME-Version: 1.0\r\n"


@functools.lru_cache(maxsize=1024)
def _folded(name: str, value: str) -> bytes:
    """A header as the email package writes it (SMTP policy), folded and encoded; cached, as
    most headers are the same for every copy of one announcement."""
    try:
        return _POLICY.fold_binary(*_POLICY.header_store_parse(name, value))
    except (ValueError, TypeError, IndexError) as exc:
        raise RenderError(f"invalid mail header: {exc}") from exc


def _header_bytes(name: str, value: str) -> bytes:
    """`_folded`, without the email package for a plain address or Message-ID (different in
    every message), which it would write as it is."""
    if (
        name in ("To", "Message-ID")
        and len(name) + len(value) < 70
        and _SIMPLE_HEADER.fullmatch(value)
        and (value[0] == "<") == (name == "Message-ID")
    ):
        return f"{name}: {value}\r\n".encode("ascii")
    if name in ("To", "Message-ID"):
        return _folded.__wrapped__(name, value)  # one of a kind: not worth a cache entry
    return _folded(name, value)


def _encode_text(text: str) -> tuple[str, bytes]:
    """(Content-Transfer-Encoding, body) of `text` as UTF-8, chosen and encoded as the email
    package's `set_content` does (policy SMTP: 8bit allowed, lines up to 78 characters), with
    CRLF line ends."""
    lines = text.encode("utf-8").splitlines()
    longest = _POLICY.max_line_length
    assert longest is not None
    if max((len(x) for x in lines), default=0) <= longest:
        data = b"\r\n".join(lines) + b"\r\n"
        return ("7bit" if data.isascii() else "8bit"), data
    # Quoted-printable encodes each line by itself: a line's encoding is the package's
    # (`quoprimime.body_encode`), cached, as most lines are the same in every copy.
    head = [_qp_line(x) for x in lines[:10]]
    sniff_qp = sum(n for _, n in head) + len(head)  # the length of the package's sniff
    sniff = sum(len(x) for x in lines[:10]) + 2 * len(head)
    if sniff_qp > (sniff + 2) // 3 * 4 + 1:  # longer than `binascii.b2a_base64(sniff)`
        whole = b"\r\n".join(lines) + b"\r\n"
        step = longest // 4 * 3
        encoded = "".join(
            binascii.b2a_base64(whole[i : i + step]).decode("ascii")
            for i in range(0, len(whole), step)
        )
        return "base64", _NEWLINES.sub("\r\n", encoded).encode("ascii")
    encoded = [x for x, _ in head] + [_qp_line(x)[0] for x in lines[10:]]
    encoded.append(b"")
    return "quoted-printable", b"\r\n".join(encoded)


@functools.lru_cache(maxsize=4096)
def _qp_line(line: bytes) -> tuple[bytes, int]:
    """One line of a body (without its line end) quoted-printable as `quoprimime.body_encode`
    writes it, with CRLF soft breaks; and the length it has with the package's LF ones."""
    longest = _POLICY.max_line_length
    assert longest is not None
    encoded = email.quoprimime.body_encode(line.decode("latin-1"), longest)
    return _crlf(encoded), len(encoded)


def _crlf(encoded: str) -> bytes:
    """A body as the generator writes it: every line end CRLF, a last line without one kept
    without."""
    return _NEWLINES.sub("\r\n", encoded).encode("ascii")


def _part(text: str, subtype: str, extra: bytes) -> bytes:
    """One text part of the multipart/alternative, headers and body, as the generator writes it
    (the html part also repeats MIME-Version, as the email package's does)."""
    cte, data = _encode_text(text)
    head = _folded("Content-Type", f'text/{subtype}; charset="utf-8"')
    head += _folded("Content-Transfer-Encoding", cte) + extra + b"\r\n"
    return head + data


_MULTIPART_PLACEHOLDER = "=" * 15 + "9" * _BOUNDARY_DIGITS + "=="
_MULTIPART = _folded(
    "Content-Type", f'multipart/alternative; boundary="{_MULTIPART_PLACEHOLDER}"'
).replace(_MULTIPART_PLACEHOLDER.encode("ascii"), b"%s")


def _boundary(body: bytes) -> bytes:
    """A boundary like the email package's (`===============<19 digits>==`) that is not in
    `body`."""
    while True:
        token = random.randrange(sys.maxsize)
        boundary = b"=" * 15 + b"%0*d" % (_BOUNDARY_DIGITS, token) + b"=="
        if boundary not in body:
            return boundary


_NAMES = {
    field: f"\ue000klasbot-{field}\ue001"
    for field in ("pupil_name", "pupil_full_name", "recipient_name")
}
"""The per-copy values of an announcement's mail, and their stand-ins (private-use characters:
no template or filter changes them, HTML escaping included)."""
_PLAIN_NAME = re.compile(r"[^\s\ue000\ue001]+(?: [^\s\ue000\ue001]+)*")
_SHARED_MAX = 256


def _shared_key(template: str, lang: str, context: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What the texts of an announcement's copy depend on besides its names (and whether each
    name is empty); None when they cannot be shared (another kind of mail, an odd name)."""
    if template != "announcement" or not all(field in context for field in _NAMES):
        return None
    names = [context[field] for field in _NAMES]
    if not all(
        n is None or isinstance(n, str) and (not n or _PLAIN_NAME.fullmatch(n)) for n in names
    ):
        return None
    rest = tuple(sorted((k, v) for k, v in context.items() if k not in _NAMES))
    try:
        hash(rest)
    except TypeError:
        return None
    return (template, lang, rest, tuple(bool(n) for n in names))


def _fill(shared: tuple[str, str, str], context: Mapping[str, Any]) -> tuple[str, str, str]:
    """The shared texts with this copy's names in place of the stand-ins."""
    subject, text, html = shared
    for field, stand_in in _NAMES.items():
        value = context[field]
        if not value:
            continue
        subject = subject.replace(stand_in, value)
        text = text.replace(stand_in, value)
        html = html.replace(stand_in, str(escape(value)))
    return subject, text, html


_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _own_field_names(cls: type[Notice]) -> tuple[str, ...] | None:
    """The fields of a kind of notice whose `fields()` is the dataclass's own (`asdict`)."""
    if cls.fields is not Notice.fields:
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


def _notice_fields(notice: Notice) -> dict[str, Any]:
    """`notice.fields()`; for a notice of plain values (an announcement's copy) read as they
    are: `asdict` would copy each one deeply, and that costs more than the mail's templates."""
    names = _own_field_names(type(notice))
    if names is not None:
        values = {name: getattr(notice, name) for name in names}
        if all(type(v) in _SCALARS for v in values.values()):
            return values
    return notice.fields()


@functools.lru_cache(maxsize=64)
def _from_header(display: str, addr: str) -> str:
    try:
        return str(HeaderAddress(display, addr_spec=addr))
    except (ValueError, TypeError, IndexError) as exc:
        raise RenderError(f"invalid mail header: {exc}") from exc


@functools.lru_cache(maxsize=16)
def _date_header(date: dt.datetime, timezone: dt.tzinfo) -> str:
    return email.utils.format_datetime(date.astimezone(timezone))


class RenderError(ValueError):
    """The message cannot be rendered (unknown kind of notice, a template error, malformed
    address or Message-ID). Retrying will not help; mailers report it as a
    PermanentDeliveryError."""


def _nl2br(value: Any) -> Markup:
    """Escape `value` and keep its line breaks in HTML."""
    lines = str(escape("" if value is None else value)).split("\n")
    return Markup("<br>\n").join(Markup(line) for line in lines)


def _infer_audience(context: Mapping[str, Any]) -> str:
    pupil = (context.get("pupil_name") or "").strip()
    recipient = (context.get("recipient_name") or "").strip()
    if not pupil:
        return "person"
    # The pupil's own address (16+): the recipient is the pupil, by given or full name.
    if recipient == pupil or recipient.startswith(pupil + " "):
        return "pupil"
    return "guardian"


def _reason_note(reason: str, audience: str, pupil: str, *, lang: str) -> str:
    return notice_texts.reason_note(reason or "", audience, pupil or "", lang)


def _qr_cid(message: MailMessage) -> str:
    """The Content-ID of a message's QR code: unique per message, and never derived from the
    code the link holds."""
    return "qr." + message.message_id.strip().strip("<>")


def _language(lang: str) -> str:
    """`lang` when it has a catalogue, else Dutch."""
    return lang if lang in available_languages() else DEFAULT_LANGUAGE


class MailRenderer:
    """Renders `MailMessage`s for one school. Stateless after construction (apart from its
    per-language template environments); safe to share between threads."""

    def __init__(
        self,
        *,
        school_name: str,
        from_address: str,
        reply_to: str | None,
        timezone: dt.tzinfo | str = "Europe/Amsterdam",
        share_texts: bool = True,
    ) -> None:
        """`from_address` is the bot's sending address, bare (`klasbot@school.nl`) or with a
        display name; without one, the school's name is shown (the notice's, else
        `school_name`). `reply_to` is the school's address that replies should reach — never
        the bot's, which nobody reads; without it, a notice's own `reply_to` (an announcement's
        author) is used. `share_texts=False` renders every copy of an announcement by itself
        (`render_parts`; for tests that compare)."""
        self.school_name = school_name
        display, addr = email.utils.parseaddr(from_address)
        if "@" not in addr:
            raise ValueError(f"from_address is not an e-mail address: {from_address!r}")
        self.envelope_sender = addr
        self._from_display = display
        self._from_addr = addr
        self.reply_to = reply_to
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._envs: dict[str, tuple[Translations, jinja2.Environment]] = {}
        self._lock = threading.Lock()
        self._shared: dict[tuple[Any, ...], tuple[str, str, str] | bool] = {}
        self.share_texts = share_texts

    def _environment(self, lang: str) -> jinja2.Environment:
        """The template environment speaking `lang` (one per language: the gettext functions
        are the environment's globals)."""
        import jinja2

        translations = translation(lang)
        with self._lock:
            cached = self._envs.get(lang)
            if cached is not None and cached[0] is translations:
                return cached[1]
            env = jinja2.Environment(
                loader=jinja2.PackageLoader("adapters.email", "templates"),
                auto_reload=False,  # package data: compiled once per language, never stat()ed again
                # Only the HTML part is escaped; the plain-text part must show `<` and `&` as
                # typed.
                autoescape=jinja2.select_autoescape(
                    enabled_extensions=("html.j2",), default_for_string=False, default=False
                ),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                extensions=["jinja2.ext.i18n"],
            )
            # Newstyle: `_("Dear %(name)s,", name=...)` fills in (and in HTML escapes) the
            # values itself, after translation.
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            env.filters["nl2br"] = _nl2br
            env.filters["date"] = self._format_date
            env.filters["moment"] = self._format_moment
            # Why a copy comes to a parent: the words the letters use too.
            env.globals["reason_note"] = functools.partial(_reason_note, lang=lang)
            # A withdrawal's or a correction's words: the letters' too.
            env.globals["undo_title"] = functools.partial(notice_texts.undo_title, lang=lang)
            env.globals["undo_intro"] = functools.partial(notice_texts.undo_intro, lang=lang)
            env.globals["reason_line"] = functools.partial(notice_texts.reason_line, lang=lang)
            self._envs[lang] = (translations, env)
            return env

    def _format_date(self, value: Any, lang: str) -> str:
        """A date (or an ISO date string) in the reader's language, `dinsdag 17 november 2026`;
        anything else as it is."""
        if isinstance(value, dt.datetime):
            return format_date(self._local(value).date(), lang)
        if isinstance(value, dt.date):
            return format_date(value, lang)
        try:
            return format_date(dt.date.fromisoformat(str(value).strip()), lang)
        except ValueError:
            return str(value)

    def _format_moment(self, value: Any, lang: str) -> str:
        """A moment (an aware datetime, or an ISO string in the school's wall-clock time) in the
        reader's language, `dinsdag 3 november 2026 om 08:30`; a date as `_format_date`;
        anything else as it is."""
        moment = value
        if isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                return str(value)
            if len(value.strip()) <= len("2026-11-03"):  # a date without a time
                return format_date(moment.date(), lang)
        if not isinstance(moment, dt.datetime):
            return self._format_date(value, lang)
        local = self._local(moment)
        return MSG_DATE_AT(
            lang, date=format_date(local.date(), lang), time=format_time(local.time())
        )

    def _local(self, moment: dt.datetime) -> dt.datetime:
        return moment.astimezone(self.timezone) if moment.tzinfo else moment

    def _context(self, message: MailMessage, lang: str) -> dict[str, Any]:
        notice = message.notice
        if not isinstance(notice, Notice) or getattr(notice, "template", None) not in TEMPLATES:
            raise RenderError(f"no mail template for {type(notice).__name__}")
        context: dict[str, Any] = dict.fromkeys(_EXTRA.get(notice.template, ()))
        context.update(_notice_fields(notice))
        if not context.get("school_name"):
            context["school_name"] = self.school_name
        context["lang"] = lang
        if "audience" in context and not context["audience"]:
            context["audience"] = _infer_audience(context)
        if notice.template == "report" and not context["kind"]:
            context["kind"] = "report"
        if notice.template == "invite" and context.get("telegram_link"):
            context["qr_cid"] = _qr_cid(message)
        return context

    def render_parts(self, message: MailMessage) -> tuple[str, str, str]:
        """The subject (one line), the plain text and the HTML of `message`, in its language
        (Dutch when there is no catalogue for it).

        The copies of one announcement differ only in the names they are addressed with: its
        texts are rendered once with stand-ins for the names (`_NAMES`), and each copy fills in
        its own (escaped in the HTML), when the names are plain enough for that to give the
        same text (`_PLAIN_NAME`; the first copy is checked against a full rendering).

        Raises RenderError."""
        lang = _language(message.lang)
        context = self._context(message, lang)
        name = message.notice.template
        key = _shared_key(name, lang, context) if self.share_texts else None
        if key is None:
            return self._render_parts(name, lang, context)
        with self._lock:
            shared = self._shared.get(key)
            if shared is None:  # the first copy: rendered as it is (a one-off costs nothing)
                self._remember(key, True)
        if shared is None:
            return self._render_parts(name, lang, context)
        if shared is True:  # the second: the shared texts, checked against a full rendering
            stand_in = {**context, **{field: _NAMES[field] for field in _NAMES if context[field]}}
            shared = self._render_parts(name, lang, stand_in)
            parts = self._render_parts(name, lang, context)
            if _fill(shared, context) != parts:
                shared = False  # the names change more than where they stand: no sharing
            with self._lock:
                self._remember(key, shared)
            return parts
        if shared is False:
            return self._render_parts(name, lang, context)
        return _fill(shared, context)

    def _remember(self, key: tuple[Any, ...], shared: tuple[str, str, str] | bool) -> None:
        """Under `_lock`."""
        if key not in self._shared and len(self._shared) >= _SHARED_MAX:
            self._shared.pop(next(iter(self._shared)))
        self._shared[key] = shared

    def _render_parts(self, name: str, lang: str, context: dict[str, Any]) -> tuple[str, str, str]:
        import jinja2

        env = self._environment(lang)
        try:
            subject = env.get_template(f"{name}.subject.j2").render(context)
            text = env.get_template(f"{name}.txt.j2").render(context)
            html = env.get_template(f"{name}.html.j2").render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"cannot render mail template {name} ({lang}): {exc}") from exc
        # A header is one line: user text in a subject (a class code, a kind) must not be able
        # to add headers.
        subject = _WHITESPACE.sub(" ", subject).strip()
        return subject, text, html

    def _headers(
        self, message: MailMessage, date: dt.datetime
    ) -> tuple[list[tuple[str, str]], str, str, str]:
        """The top-level headers of `message` (before its Content-* headers), its plain text,
        its HTML and its language. Raises RenderError."""
        if date.tzinfo is None:
            raise ValueError("date must be timezone-aware")
        if not message.to:
            raise RenderError("a mail message needs at least one recipient")
        self.recipients(message)
        message_id = message.message_id.strip()
        if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
            raise RenderError(f"Message-ID must look like <local@domain>: {message_id!r}")
        subject, text, html = self.render_parts(message)
        lang = _language(message.lang)
        school = getattr(message.notice, "school_name", "") or self.school_name
        headers = [
            ("From", _from_header(self._from_display or school, self._from_addr)),
            ("To", ", ".join(message.to)),
            ("Subject", subject),
            ("Date", _date_header(date, self.timezone)),
            ("Message-ID", message_id),
        ]
        reply_to = message.reply_to or self.reply_to or getattr(message.notice, "reply_to", None)
        if reply_to:
            headers.append(("Reply-To", reply_to))
        # RFC 3834: automatic mail; asks responders (holiday replies) not to answer it.
        headers.append(("Auto-Submitted", "auto-generated"))
        headers.append(("X-Auto-Response-Suppress", "All"))
        return headers, text, html, lang

    def render(self, message: MailMessage, *, date: dt.datetime) -> EmailMessage:
        """A complete multipart/alternative message, ready for SMTP or an .eml file.

        `date` must be timezone-aware; the Date header shows it in the school's time zone.
        Raises RenderError."""
        headers, text, html, lang = self._headers(message, date)
        mime = EmailMessage(policy=email.policy.SMTP)
        try:
            for name, value in headers:
                mime[name] = value
        except (ValueError, TypeError, IndexError) as exc:
            raise RenderError(f"invalid mail header: {exc}") from exc
        mime.set_content(text, subtype="plain", charset="utf-8")
        mime.add_alternative(html, subtype="html", charset="utf-8")
        link = getattr(message.notice, "telegram_link", None)
        if link and _qr_cid(message) in html:
            # The QR code of the link goes with the HTML part (multipart/related), which shows it
            # by its Content-ID; the plain-text part has the link itself.
            html_part = mime.get_payload()[1]
            html_part.add_related(
                _qr_png(link),
                maintype="image",
                subtype="png",
                cid=f"<{_qr_cid(message)}>",
                disposition="inline",
                filename="qr.png",
            )
        # After the content: set_content() clears every Content-* header, this one included.
        mime["Content-Language"] = lang
        return mime

    def render_bytes(self, message: MailMessage, *, date: dt.datetime) -> bytes:
        """`render(message, date=date).as_bytes()`, the same bytes but for the MIME boundary
        (random in both), made about ten times faster: the headers every copy of an
        announcement shares are folded once (`_folded`), and the parts are encoded as the email
        package encodes them without building its message objects. An invite with a QR code
        goes through `render`. Raises RenderError."""
        headers, text, html, lang = self._headers(message, date)
        link = getattr(message.notice, "telegram_link", None)
        if link and _qr_cid(message) in html:
            return self.render(message, date=date).as_bytes()
        plain, rich = _part(text, "plain", b""), _part(html, "html", _MIME_VERSION)
        boundary = _boundary(plain + rich)
        out = [_header_bytes(name, value) for name, value in headers]
        out.append(_MIME_VERSION)
        out.append(_MULTIPART % boundary)
        out.append(_header_bytes("Content-Language", lang))
        for part in (plain, rich):
            out.append(b"\r\n--%s\r\n" % boundary if part is plain else b"\r\n--%s\r\n" % boundary)
            out.append(part)
        out.append(b"\r\n--%s--\r\n" % boundary)
        return b"".join(out)

    def recipients(self, message: MailMessage) -> list[str]:
        """The envelope recipients (bare addresses) of `message`. Raises RenderError when one is
        not an e-mail address."""
        bare = []
        for to in message.to:
            # A plain address is its own bare form (parseaddr is slow, and each copy has one).
            addr = to if _PLAIN_ADDRESS.fullmatch(to) else email.utils.parseaddr(to)[1]
            if not _ADDR_SPEC.fullmatch(addr) or any(c in to for c in "\r\n"):
                raise RenderError(f"not an e-mail address: {to!r}")
            bare.append(addr)
        return bare


def _qr_png(link: str) -> bytes:
    from adapters.qr import qr_png  # segno: only for a mail that carries a QR code

    return qr_png(link, scale=6)

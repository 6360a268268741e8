"""Turns a core `MailMessage` into a real MIME e-mail (text and HTML alternatives, UTF-8).

Templates live in `adapters/email/templates/` as `{template}.{lang}.subject.j2`,
`{template}.{lang}.txt.j2` and `{template}.{lang}.html.j2` (package data). Only these files are
ever compiled as templates; everything from the core's `context` (announcement text, names, a
report's text) is rendered as a *variable*, so user text can never run as Jinja2 code, and the
HTML part escapes it.

Context per template (required keys must be present; optional ones default to None/empty):

- `announcement` — required: class_code, kind_title, body, signature, pupil_name;
  optional: recipient_name, reason (the fallback reason: `under-13`, `not-linked`, `opted-out`,
  `platform-age`, `left-group`, `no-group`, …), audience, to_pupil.
- `invite` — required: code, expires_on (str); optional: pupil_name (None when the invite is for
  the recipient themself and not about a pupil, e.g. a teacher), recipient_name, class_code,
  telegram_link, matrix_hint, audience, to_pupil.
- `report` — required: reporter (a description of who reported), text, created_at (datetime or
  str); optional: kind (`"report"` — A.9, the default; `"escalation"` — B.3; `"notice"` — a
  message from the bot itself, e.g. a group was lost), escalation (bool, same as
  kind="escalation"), class_code.
- `unreachable` — required: class_code, summary, pupils (names, or mappings with `name` and
  `reason`); optional: recipient_name, announcement_id.

`audience` says how an announcement or invite speaks: `"pupil"` — to the pupil, informal "je";
`"guardian"` — "Beste ouder/verzorger van Zoë", formal "u"; `"person"` — to the recipient about
themself, formal "u" (a teacher's or guardian's own invite). When absent it is inferred:
`to_pupil` true → pupil; no pupil_name → person; recipient_name equal to pupil_name or starting
with it ("Zoë" / "Zoë Jansen") → pupil; otherwise guardian. Other context keys are ignored.

`school_name` is always the renderer's own unless the context gives one.
"""

from __future__ import annotations

import email.policy
import email.utils
import logging
import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from bot.ports import MailMessage

logger = logging.getLogger(__name__)

TEMPLATES = ("announcement", "invite", "report", "unreachable")
LANGUAGES = ("nl", "en")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "announcement": ("class_code", "kind_title", "body", "signature", "pupil_name"),
    "invite": ("code", "expires_on"),
    "report": ("reporter", "text", "created_at"),
    "unreachable": ("class_code", "summary", "pupils"),
}
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "announcement": ("recipient_name", "reason", "audience", "to_pupil"),
    "invite": (
        "pupil_name",
        "recipient_name",
        "class_code",
        "telegram_link",
        "matrix_hint",
        "audience",
        "to_pupil",
    ),
    "report": ("kind", "escalation", "class_code"),
    "unreachable": ("recipient_name", "announcement_id"),
}

_WHITESPACE = re.compile(r"\s+")
_ADDR_SPEC = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;.]+")


class RenderError(ValueError):
    """The message cannot be rendered (unknown template, missing context, malformed address or
    Message-ID). Retrying will not help; mailers report it as a PermanentDeliveryError."""


def _nl2br(value: Any) -> Markup:
    """Escape `value` and keep its line breaks in HTML."""
    lines = str(escape("" if value is None else value)).split("\n")
    return Markup("<br>\n").join(Markup(line) for line in lines)


def _infer_audience(context: Mapping[str, Any]) -> str:
    pupil = (context.get("pupil_name") or "").strip()
    recipient = (context.get("recipient_name") or "").strip()
    if context.get("to_pupil"):
        return "pupil"
    if not pupil:
        return "person"
    # The pupil's own address (16+): the recipient is the pupil, by given or full name.
    if recipient == pupil or recipient.startswith(pupil + " "):
        return "pupil"
    return "guardian"


class MailRenderer:
    """Renders `MailMessage`s for one school. Stateless after construction; safe to share."""

    def __init__(
        self,
        *,
        school_name: str,
        from_address: str,
        reply_to: str | None,
        timezone: tzinfo | str = "Europe/Amsterdam",
    ) -> None:
        """`from_address` is the bot's sending address, bare (`klasbot@school.nl`) or with a
        display name; without one, the school's name is shown. `reply_to` is the school's
        address that replies should reach — never the bot's, which nobody reads."""
        self.school_name = school_name
        display, addr = email.utils.parseaddr(from_address)
        if "@" not in addr:
            raise ValueError(f"from_address is not an e-mail address: {from_address!r}")
        self.envelope_sender = addr
        self._from_header = str(HeaderAddress(display or school_name, addr_spec=addr))
        self.reply_to = reply_to
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("adapters.email", "templates"),
            # Only the HTML part is escaped; the plain-text part must show `<` and `&` as typed.
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html.j2",), default_for_string=False, default=False
            ),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["nl2br"] = _nl2br
        self._env.filters["when"] = self._format_when

    def _format_when(self, value: Any, lang: str = "nl") -> str:
        if isinstance(value, datetime):
            local = value.astimezone(self.timezone) if value.tzinfo else value
            return local.strftime("%d-%m-%Y %H:%M" if lang == "nl" else "%Y-%m-%d %H:%M")
        return str(value)

    def _context(self, message: MailMessage, lang: str) -> dict[str, Any]:
        if message.template not in _REQUIRED:
            raise RenderError(f"unknown mail template {message.template!r}")
        missing = [k for k in _REQUIRED[message.template] if k not in message.context]
        if missing:
            raise RenderError(
                f"mail template {message.template!r} needs context {', '.join(missing)}"
            )
        context: dict[str, Any] = dict.fromkeys(_OPTIONAL[message.template])
        context.update(message.context)
        if not context.get("school_name"):
            context["school_name"] = self.school_name
        context["lang"] = lang
        if "audience" in context and not context["audience"]:
            context["audience"] = _infer_audience(context)
        if message.template == "report" and not context["kind"]:
            context["kind"] = "escalation" if context["escalation"] else "report"
        return context

    def render_parts(self, message: MailMessage) -> tuple[str, str, str]:
        """The subject (one line), the plain text and the HTML of `message`.

        Raises RenderError."""
        lang = message.lang if message.lang in LANGUAGES else "nl"
        context = self._context(message, lang)
        base = f"{message.template}.{lang}"
        try:
            subject = self._env.get_template(f"{base}.subject.j2").render(context)
            text = self._env.get_template(f"{base}.txt.j2").render(context)
            html = self._env.get_template(f"{base}.html.j2").render(context)
        except jinja2.TemplateError as exc:
            raise RenderError(f"cannot render mail template {base}: {exc}") from exc
        # A header is one line: user text in a subject (a class code, a kind) must not be able
        # to add headers.
        subject = _WHITESPACE.sub(" ", subject).strip()
        return subject, text, html

    def render(self, message: MailMessage, *, date: datetime) -> EmailMessage:
        """A complete multipart/alternative message, ready for SMTP or an .eml file.

        `date` must be timezone-aware; the Date header shows it in the school's time zone.
        Raises RenderError."""
        if date.tzinfo is None:
            raise ValueError("date must be timezone-aware")
        if not message.to:
            raise RenderError("a mail message needs at least one recipient")
        self.recipients(message)
        message_id = message.message_id.strip()
        if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", message_id):
            raise RenderError(f"Message-ID must look like <local@domain>: {message_id!r}")
        subject, text, html = self.render_parts(message)
        lang = message.lang if message.lang in LANGUAGES else "nl"
        mime = EmailMessage(policy=email.policy.SMTP)
        try:
            mime["From"] = self._from_header
            mime["To"] = ", ".join(message.to)
            mime["Subject"] = subject
            mime["Date"] = email.utils.format_datetime(date.astimezone(self.timezone))
            mime["Message-ID"] = message_id
            reply_to = message.reply_to or self.reply_to
            if reply_to:
                mime["Reply-To"] = reply_to
            # RFC 3834: automatic mail; asks responders (holiday replies) not to answer it.
            mime["Auto-Submitted"] = "auto-generated"
            mime["X-Auto-Response-Suppress"] = "All"
        except (ValueError, TypeError, IndexError) as exc:
            raise RenderError(f"invalid mail header: {exc}") from exc
        mime.set_content(text, subtype="plain", charset="utf-8")
        mime.add_alternative(html, subtype="html", charset="utf-8")
        # After the content: set_content() clears every Content-* header, this one included.
        mime["Content-Language"] = lang
        return mime

    def recipients(self, message: MailMessage) -> list[str]:
        """The envelope recipients (bare addresses) of `message`. Raises RenderError when one is
        not an e-mail address."""
        bare = []
        for to in message.to:
            addr = email.utils.parseaddr(to)[1]
            if not _ADDR_SPEC.fullmatch(addr) or any(c in to for c in "\r\n"):
                raise RenderError(f"not an e-mail address: {to!r}")
            bare.append(addr)
        return bare


def context_keys() -> Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Required and optional context keys per template, for callers and tests."""
    return {name: (_REQUIRED[name], _OPTIONAL[name]) for name in TEMPLATES}

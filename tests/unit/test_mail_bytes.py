"""`MailRenderer.render_bytes` (what the SMTP and file transports send) gives the bytes the email
package gives for `MailRenderer.render` (but for the random MIME boundary), and the copies of one
announcement rendered from its shared texts (`render_parts`) read as rendered one by one."""

from __future__ import annotations

import email.policy
import re
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.email.render import MailRenderer, _encode_text
from bot.notices import AnnouncementNotice
from bot.ports import MailMessage

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)
NAMES = ["Iris", "Zoë", "O'Neill", "A & B", "<b>Jan</b>", "", "Jan  Piet", " Lead", "Iris de Wit"]


def renderer(*, share_texts: bool = True) -> MailRenderer:
    return MailRenderer(
        school_name="Veenlanden College",
        from_address="klasbot@veen.example",
        reply_to=None,
        share_texts=share_texts,
    )


ALONE = renderer(share_texts=False)
SHARED = renderer()


def mail(n: int = 1, **fields: str) -> MailMessage:
    notice = AnnouncementNotice(
        announcement_id=7,
        class_code="6G",
        kind="reminder",
        kind_title="Herinnering",
        body="Neem morgen je gymspullen mee.",
        signature="— K. Smit, mentor 6G",
        school_name="Veenlanden College",
        pupil_name="Iris",
        pupil_full_name="Iris de Wit",
        recipient_name="Iris",
        audience="pupil",
        reason="no-group",
    )
    return MailMessage(
        to=(f"leerling{n:05d}@veen.example",),
        notice=replace(notice, **fields),  # type: ignore[arg-type]
        message_id=f"<copy-{n}@klasbot>",
    )


def same_boundary(data: bytes) -> bytes:
    found = re.search(rb'boundary="([^"]+)"', data)
    assert found is not None
    return data.replace(found.group(1), b"BOUNDARY")


@pytest.mark.parametrize(
    "message",
    [
        mail(),
        replace(mail(), lang="en"),
        mail(body="kort"),  # every line short and ASCII: 7bit
        mail(body="Zoë gaat mee"),  # 8bit
        mail(body="é" * 200 + "\n" + "x" * 300),  # long lines: quoted-printable
        mail(body="\n".join(["ааа бббб" * 20] * 30)),  # mostly non-Latin: base64
        mail(body="\n".join(["regel"] * 30) + "\r\nfoo\rbar"),
        replace(mail(), to=("Iris de Wit <iris@veen.example>",), reply_to="school@veen.example"),
        replace(mail(), to=('"Zoë Jansen" <zoe@veen.example>', "b@veen.example")),
        mail(kind_title="Lesuitval " * 12),  # a long subject, folded
    ],
)
def test_bytes_are_the_email_packages(message: MailMessage) -> None:
    r = SHARED
    for _ in range(3):  # the first copy, the one that checks the shared texts, a shared one
        assert same_boundary(r.render_bytes(message, date=NOW)) == same_boundary(
            r.render(message, date=NOW).as_bytes()
        )


@pytest.mark.parametrize("audience", ["pupil", "guardian", ""])
def test_copies_from_the_shared_texts_read_as_rendered_alone(audience: str) -> None:
    shared = SHARED
    pairs = [*zip(NAMES, NAMES, strict=True), *zip(NAMES, reversed(NAMES), strict=True)]
    for n, (pupil, recipient) in enumerate(pairs):
        message = mail(n, pupil_name=pupil, recipient_name=recipient, audience=audience)
        alone = ALONE.render_parts(message)
        assert shared.render_parts(message) == alone, (pupil, recipient)
        assert same_boundary(shared.render_bytes(message, date=NOW)) == same_boundary(
            ALONE.render(message, date=NOW).as_bytes()
        )


_LINE = st.text(alphabet="ab =\t.é€аб\r\n", max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=25), st.sampled_from(["", "\n", " ", "\r\n"]))
def test_a_body_is_encoded_as_the_email_package_encodes_it(lines: list[str], end: str) -> None:
    """`_encode_text` (quoted-printable line by line, cached) chooses and writes what
    `EmailMessage.set_content` does: 7bit, 8bit, quoted-printable or base64, byte for byte."""
    text = "\n".join(lines) + end
    mime = EmailMessage(policy=email.policy.SMTP)
    mime.set_content(text, subtype="plain", charset="utf-8")
    body = mime.as_bytes().split(b"\r\n\r\n", 1)[1]
    assert _encode_text(text) == (mime["Content-Transfer-Encoding"], body)

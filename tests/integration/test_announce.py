"""Announce end to end on the demo school: rules → stored announcement → routing → one delivery
per pupil → dispatch to the console group, .eml files and PDF letters. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot import bootstrap
from bot.clock import FrozenClock
from bot.domain import AnnouncementDraft, Channel, DeliveryStatus, MemberState, Reason
from bot.errors import NotFound, RuleViolation
from bot.outbox import letters_posted
from bot.usecases import announcing, linking, queries
from bot.usecases import groups as group_uc
from bot.usecases import invites as invite_uc
from bot.usecases import roster as roster_uc

pytestmark = pytest.mark.asyncio


async def link(app: bootstrap.App, person: str) -> None:
    [invite] = await invite_uc.create_invites(app.ctx, person_ref=person)
    reply = await app.chat.handle("console", person, f"/start {invite.code}")
    assert any("gekoppeld" in t for t in reply.texts), reply.texts


async def class_2b_with_group(app: bootstrap.App) -> None:
    await group_uc.create_group(app.ctx, "2B", "console")
    for person in ("p-2b-01", "p-2b-03", "t-devries"):
        await link(app, person)


def homework(**kw: object) -> AnnouncementDraft:
    fields: dict[str, object] = {
        "class_id": "2B",
        "author_id": "t-devries",
        "kind": "homework",
        "date": date(2026, 11, 24),
        "subject": "wiskunde",
        "text": "Maak opgave 1 t/m 5.",
    }
    fields.update(kw)
    return AnnouncementDraft(**fields)  # type: ignore[arg-type]


async def routes(
    app: bootstrap.App, announcement_id: int
) -> dict[str, tuple[str, str | None, str]]:
    return {
        d.pupil_id: (d.channel.value, d.reason.value if d.reason else None, d.status.value)
        for d in await queries.deliveries(app.ctx, announcement_id)
    }


async def test_every_pupil_exactly_once_with_the_required_channel_and_reason(
    app: bootstrap.App,
) -> None:
    await class_2b_with_group(app)
    result = await announcing.announce(app.ctx, homework())
    got = await routes(app, result.announcement.id)
    assert got == {
        "p-2b-01": ("group", None, "pending"),
        "p-2b-02": ("post", "not-linked", "pending"),  # guardian has only an address
        "p-2b-03": ("group", None, "pending"),
        "p-2b-04": ("post", "not-linked", "pending"),  # guardian chose letters (fallback=post)
        "p-2b-05": ("email", "under-13", "pending"),
        "p-2b-06": ("unreachable", "not-linked", "failed"),
        "p-2b-07": ("email", "not-linked", "pending"),
    }
    assert result.unreachable == ("p-2b-06",)
    assert result.counts == {"group": 2, "email": 2, "post": 2, "unreachable": 1}


async def test_class_without_group_and_the_16_plus_rule(app: bootstrap.App) -> None:
    result = await announcing.announce(
        app.ctx,
        AnnouncementDraft(
            "4C", "t-jansen", "trip", date=date(2026, 12, 11), text="Excursie naar het Rijksmuseum."
        ),
    )
    got = await routes(app, result.announcement.id)
    assert got["p-4c-01"][:2] == ("email", "no-group")  # 16: own address
    assert got["p-4c-02"][:2] == ("email", "no-group")  # 15: guardian
    assert got["p-4c-06"][:2] == ("post", "no-group")  # Johan never contacted; Petra by letter
    deliveries = {d.pupil_id: d for d in await queries.deliveries(app.ctx, result.announcement.id)}
    # Lucas is 16: the announcement goes to his own address, not to his guardian.
    assert [r.person_id for r in deliveries["p-4c-01"].recipients] == ["p-4c-01"]
    assert all(r.email for r in deliveries["p-4c-01"].recipients)
    assert all(r.person_id != "p-4c-01" for r in deliveries["p-4c-02"].recipients)
    assert [r.person_id for r in deliveries["p-4c-06"].recipients] == ["g-13"]


async def test_pupil_email_can_be_switched_off(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    from adapters.oneroster.reader import read_roster
    from tests.conftest import DEMO_ROSTER, make_settings

    settings = make_settings(tmp_path, database_url, KLASBOT_SCHOOL__PUPIL_EMAIL_FROM_AGE="off")
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as app:
        await roster_uc.import_roster(app.ctx, read_roster(DEMO_ROSTER))
        result = await announcing.announce(
            app.ctx, AnnouncementDraft("4C", "t-jansen", "reminder", text="Neem je gymspullen mee.")
        )
        deliveries = {
            d.pupil_id: d for d in await queries.deliveries(app.ctx, result.announcement.id)
        }
    assert all(r.person_id != "p-4c-01" for r in deliveries["p-4c-01"].recipients)


async def test_dispatch_writes_group_post_eml_and_one_letter_per_household(
    app: bootstrap.App,
) -> None:
    await class_2b_with_group(app)
    result = await announcing.announce(app.ctx, homework())
    stats = await app.dispatcher.run_once()
    assert stats.sent == 4
    assert stats.letters == 2
    # The console group got exactly one signed post.
    [post] = app.console.posted
    assert "— J. de Vries, mentor 2B, De Passie Utrecht" in post.text
    assert "Maak opgave 1 t/m 5." in post.text
    # Real MIME e-mail, text and HTML, carrying the signed announcement.
    outbox = Path(app.settings.mail.outbox_dir)
    mails = [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in outbox.glob("*.eml")
        if not p.name.startswith(("invite", "unreachable", "late-letters"))
    ]
    assert len(mails) == 2
    for mail in mails:
        assert mail["Message-ID"].endswith("@klasbot>")
        assert mail["Auto-Submitted"] == "auto-generated"
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "J. de Vries, mentor 2B" in text
        assert "J. de Vries, mentor 2B" in html
    # PDF letters for Daan's and Sem's households.
    letters = sorted(Path(app.settings.post.letters_dir).glob("*.pdf"))
    assert len(letters) == 2
    text = "".join(page.extract_text() for page in PdfReader(letters[0]).pages)
    assert "J. de Vries" in text
    got = await routes(app, result.announcement.id)
    assert got["p-2b-01"][2] == got["p-2b-03"][2] == got["p-2b-05"][2] == "sent"
    # A letter is sent only when the office marks it posted.
    assert got["p-2b-02"][2] == "pending"
    async with app.db.transaction() as store:
        keys = [x.key for x in await store.letters.list(unposted_only=True)]
        assert await letters_posted(store, keys, app.clock.now()) == keys
    assert (await routes(app, result.announcement.id))["p-2b-02"][2] == "sent"


async def test_dispatching_again_sends_nothing_twice(app: bootstrap.App) -> None:
    await class_2b_with_group(app)
    await announcing.announce(app.ctx, homework())
    first = await app.dispatcher.run_once()
    second = await app.dispatcher.run_once()
    assert first.sent == 4
    assert second.sent == 0
    assert second.letters == 0
    assert len(app.console.posted) == 1


async def test_two_announcements_same_day_share_one_letter_per_household(
    app: bootstrap.App,
) -> None:
    await announcing.announce(app.ctx, homework())
    await app.dispatcher.run_once()
    await announcing.announce(app.ctx, homework(subject="biologie", text="Lees hoofdstuk 4."))
    await app.dispatcher.run_once()
    async with app.db.transaction() as store:
        letters = await store.letters.list()
    daan = [x for x in letters if "p-2b-02" in x.pupils]
    assert len(daan) == 1
    assert len(daan[0].announcements) == 2
    text = "".join(p.extract_text() for p in PdfReader(daan[0].path).pages)
    assert "opgave 1 t/m 5" in text
    assert "hoofdstuk 4" in text


@pytest.mark.parametrize(
    ("draft", "code"),
    [
        (homework(author_id="p-2b-01"), "not-staff"),
        (homework(author_id="t-jansen"), "not-staff"),  # staff, but not of 2B
        (homework(kind="feest"), "kind-not-allowed"),
        (homework(text="Bel 06-12345678 als je vragen hebt"), "personal-data"),
        (homework(text="Zoë deelt de lijst uit"), "personal-data"),
        (homework(text=None), "missing-field"),
    ],
)
async def test_refusals_store_nothing_and_are_audited(
    app: bootstrap.App, draft: AnnouncementDraft, code: str
) -> None:
    with pytest.raises(RuleViolation) as caught:
        await announcing.announce(app.ctx, draft)
    assert caught.value.code == code
    assert await queries.announcements(app.ctx) == []
    async with app.db.transaction() as store:
        events = await store.audit.events(kind="refusal")
    assert [e.details["code"] for e in events] == [code]


async def test_unknown_class_and_announcement(app: bootstrap.App) -> None:
    with pytest.raises(NotFound, match="9Z"):
        await announcing.announce(app.ctx, homework(class_id="9Z"))
    with pytest.raises(NotFound):
        await queries.deliveries(app.ctx, 12345)


async def test_quiet_hours_hold_and_release(app: bootstrap.App, clock: FrozenClock) -> None:
    clock.at = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Amsterdam
    result = await announcing.announce(app.ctx, homework())
    assert result.held_until == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 07:00 CET
    assert {s for _, _, s in (await routes(app, result.announcement.id)).values()} == {
        "held",
        "failed",
    }
    assert (await app.dispatcher.run_once()).sent == 0
    clock.at = datetime(2026, 11, 24, 6, 0, 1, tzinfo=UTC)
    stats = await app.dispatcher.run_once()
    assert stats.sent + stats.letters > 0
    statuses = {d.status for d in await queries.deliveries(app.ctx, result.announcement.id)}
    assert DeliveryStatus.HELD not in statuses


async def test_urgent_kind_from_0630(app: bootstrap.App, clock: FrozenClock) -> None:
    clock.at = datetime(2026, 11, 24, 5, 40, tzinfo=UTC)  # 06:40 CET
    urgent = await announcing.announce(
        app.ctx,
        AnnouncementDraft(
            "2B", "t-devries", "lesson-cancelled", date=date(2026, 11, 24), period="3"
        ),
    )
    normal = await announcing.announce(app.ctx, homework())
    assert urgent.held_until is None
    assert normal.held_until == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


async def test_scheduled_announcement_waits_for_its_time(
    app: bootstrap.App, clock: FrozenClock
) -> None:
    result = await announcing.announce(
        app.ctx,
        homework(
            kind="reminder", date=None, subject=None, not_before=clock.at + timedelta(hours=2)
        ),
    )
    assert (await app.dispatcher.run_once()).sent == 0
    clock.advance(hours=2, seconds=1)
    assert (await app.dispatcher.run_once()).sent > 0
    assert result.announcement.id == 1


async def test_pupil_who_left_the_class_is_removed_from_its_group(app: bootstrap.App) -> None:
    from dataclasses import replace

    from adapters.oneroster.reader import read_roster
    from tests.conftest import DEMO_ROSTER

    await class_2b_with_group(app)
    snapshot = read_roster(DEMO_ROSTER)
    snapshot = replace(
        snapshot, enrollments=tuple(e for e in snapshot.enrollments if e.person_id != "p-2b-01")
    )
    changes = await roster_uc.import_roster(app.ctx, snapshot)
    assert ("p-2b-01", "cls-2b") in changes.left_class
    async with app.db.transaction() as store:
        [group] = await store.groups.list("cls-2b")
        assert (await store.groups.members(group.id))["p-2b-01"].state == MemberState.REMOVED
    result = await announcing.announce(app.ctx, homework())
    assert "p-2b-01" not in await routes(app, result.announcement.id)


async def test_stranger_in_group_is_removed_and_logged(app: bootstrap.App) -> None:
    group = await group_uc.create_group(app.ctx, "2B", "console")
    assert await app.chat.member_joined("console", group.chat_id, "someone-else") is False
    await link(app, "p-4c-01")  # a real pupil, but of another class
    assert await app.chat.member_joined("console", group.chat_id, "p-4c-01") is False
    async with app.db.transaction() as store:
        removed = await store.audit.events(kind="member-removed")
    assert len(removed) == 2


async def test_member_post_is_deleted_and_staff_command_in_group_reposted(
    app: bootstrap.App,
) -> None:
    await class_2b_with_group(app)
    async with app.db.transaction() as store:
        [group] = await store.groups.list("cls-2b")
    pupil = await app.chat.handle(
        "console", "p-2b-01", "wie heeft de antwoorden?", chat_id=group.chat_id, in_group=True
    )
    assert pupil.delete_original
    assert pupil.texts == []
    staff = await app.chat.handle(
        "console",
        "t-devries",
        "/huiswerk 2B wiskunde morgen Maak opgave 3",
        chat_id=group.chat_id,
        in_group=True,
    )
    assert staff.delete_original
    assert staff.announcement_id is not None
    async with app.db.transaction() as store:
        assert len(await store.audit.events(kind="member-post-deleted")) == 1


async def test_preview_then_confirm(app: bootstrap.App) -> None:
    await class_2b_with_group(app)
    reply = await app.chat.handle(
        "console", "t-devries", "/uitje 2B vrijdag Excursie naar Naturalis", preview=True
    )
    assert reply.confirmation is not None
    assert "— J. de Vries, mentor 2B, De Passie Utrecht" in reply.texts[0]
    assert await queries.announcements(app.ctx) == []
    # Only the author can confirm it, and only once.
    other = await app.chat.confirm("console", "p-2b-01", reply.confirmation)
    assert other.refused
    confirmed = await app.chat.confirm("console", "t-devries", reply.confirmation)
    assert confirmed.announcement_id is not None
    again = await app.chat.confirm("console", "t-devries", reply.confirmation)
    assert again.refused
    assert len(await queries.announcements(app.ctx)) == 1


async def test_codes_single_use_expiry_and_age(app: bootstrap.App, clock: FrozenClock) -> None:
    issued = await invite_uc.create_invites(app.ctx, class_ref="2B")
    assert "p-2b-05" not in {i.person_id for i in issued}  # under 13: no code
    # Nor for Sophie (p-2b-06): nothing to send it by.
    assert {i.pupil_id for i in issued} == {"p-2b-01", "p-2b-02", "p-2b-03", "p-2b-04", "p-2b-07"}
    first = issued[0]
    assert (
        "gekoppeld"
        in (await linking.link_account(app.ctx, "console", "acc-1", first.code)).texts[0]
    )
    assert (
        "al gebruikt"
        in (await linking.link_account(app.ctx, "console", "acc-2", first.code)).texts[0]
    )
    # The same account may send its code again (after a failed invite): admitted, not refused.
    again = await linking.link_account(app.ctx, "console", "acc-1", first.code)
    assert "gekoppeld" in again.texts[0]
    assert (
        "kennen we niet"
        in (await linking.link_account(app.ctx, "console", "acc-3", "NOPE")).texts[0]
    )
    clock.advance(days=15)
    assert (
        "verlopen"
        in (await linking.link_account(app.ctx, "console", "acc-4", issued[1].code)).texts[0]
    )


async def test_invites_are_sent_by_the_fallback_channel(app: bootstrap.App) -> None:
    issued = {
        i.person_id: i
        for i in await invite_uc.create_invites(app.ctx, class_ref="4C", with_staff=True)
    }
    assert issued["p-4c-01"].channel == Channel.EMAIL
    assert issued["t-jansen"].pupil_id is None
    assert issued["t-jansen"].channel == Channel.EMAIL  # staff get their own code by e-mail
    outbox = Path(app.settings.mail.outbox_dir)
    assert not list(outbox.glob("invite-*.eml"))  # queued in the outbox, sent by the dispatcher
    await app.dispatcher.run_once()
    bodies = [p.read_text(encoding="utf-8", errors="replace") for p in outbox.glob("invite-*.eml")]
    by_mail = {i.code for i in issued.values() if i.channel == Channel.EMAIL}
    by_post = {i.person_id for i in issued.values() if i.channel == Channel.POST}
    for code in by_mail:
        assert any(code in b for b in bodies), code
    # Invitations by letter are printed letters like any other: the office sees them.
    letters = await queries.letters(app.ctx)
    assert {p for x in letters if "invite" in x.notices for p in x.pupils} == by_post


async def test_reason_enum_covers_routes() -> None:
    assert {r.value for r in Reason} >= {
        "under-13",
        "not-linked",
        "opted-out",
        "platform-age",
        "left-group",
    }


async def test_report_is_stored_forwarded_and_confirmed(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    from adapters.oneroster.reader import read_roster
    from tests.conftest import DEMO_ROSTER, make_settings

    settings = make_settings(
        tmp_path, database_url, KLASBOT_SCHOOL__LEADERSHIP_EMAILS="leiding@school.example"
    )
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as app:
        await roster_uc.import_roster(app.ctx, read_roster(DEMO_ROSTER))
        await link(app, "p-2b-01")
        reply = await app.chat.handle(
            "console", "p-2b-01", "/melden iemand deelt foto's van de toets"
        )
        assert "schoolleiding" in reply.texts[0]
        await app.dispatcher.run_once()
        unlinked = await app.chat.handle("console", "stranger", "/melden hallo")
        assert "/start" in unlinked.texts[0]
        async with app.db.transaction() as store:
            [event] = await store.audit.events(person_id="p-2b-01", kind="report")
        assert event.details["text"] == "iemand deelt foto's van de toets"
        mails = [
            p.read_text(encoding="utf-8", errors="replace")
            for p in Path(settings.mail.outbox_dir).glob("report-*.eml")
        ]
        assert len(mails) == 1
        assert "leiding@school.example" in mails[0]


async def test_a_new_channel_gets_its_own_retries(app: bootstrap.App, clock: FrozenClock) -> None:
    """After the group channel gave up, one greylisting refusal by the mail server is retried,
    not taken as a reason to go to paper."""
    from bot.errors import TransientDeliveryError
    from bot.ports import GroupMessage

    class Flaky:
        name = "console"
        capabilities = app.console.capabilities

        async def post(self, message: GroupMessage, *, silent: bool = False) -> str:
            raise TransientDeliveryError("platform down")

        async def admit(self, chat_id: str, account_id: str) -> bool:
            return True

        async def remove(self, chat_id: str, account_id: str, reason: str) -> None:
            return None

    await class_2b_with_group(app)
    result = await announcing.announce(app.ctx, homework())
    app.platforms["console"] = Flaky()
    for _ in range(app.dispatcher.retry.max_attempts):
        await app.dispatcher.run_once()
        clock.advance(minutes=10)  # past the longest backoff, well before quiet hours
    zoe = {d.pupil_id: d for d in await queries.deliveries(app.ctx, result.announcement.id)}[
        "p-2b-01"
    ]
    assert zoe.channel == Channel.EMAIL
    assert zoe.reason == Reason.BLOCKED
    assert zoe.status == DeliveryStatus.SENT
    assert zoe.channel_attempts == 0
    assert zoe.attempts == app.dispatcher.retry.max_attempts + 1


async def test_report_is_kept_when_the_mail_server_is_down(
    tmp_path: Path, database_url: str, clock: FrozenClock
) -> None:
    from adapters.oneroster.reader import read_roster
    from tests.conftest import DEMO_ROSTER, make_settings

    settings = make_settings(
        tmp_path,
        database_url,
        KLASBOT_SCHOOL__LEADERSHIP_EMAILS="leiding@school.example",
        KLASBOT_MAIL__TRANSPORT="smtp",
        KLASBOT_MAIL__SMTP_HOST="127.0.0.1",
        KLASBOT_MAIL__SMTP_PORT="9",  # nothing listens there
        KLASBOT_MAIL__SMTP_TIMEOUT="2",
    )
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as app:
        await roster_uc.import_roster(app.ctx, read_roster(DEMO_ROSTER))
        await group_uc.create_group(app.ctx, "2B", "console")
        async with app.db.transaction() as store:
            await store.accounts.link("console", "p-2b-01", "p-2b-01", clock.now())
        reply = await app.chat.handle("console", "p-2b-01", "/melden iemand wordt gepest")
        assert "schoolleiding" in reply.texts[0]
        # The server is down: the report waits in the outbox and is retried, never lost.
        stats = await app.dispatcher.run_once()
        assert stats.notices == 0
        assert stats.retried == 1
        async with app.db.transaction() as store:
            assert [e.details["text"] for e in await store.audit.events(kind="report")] == [
                "iemand wordt gepest"
            ]
            [claimed] = await store.outbox.claim_due(
                clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=2), 10
            )
        assert claimed.notice is not None
        assert claimed.notice.template == "report"
        assert claimed.last_error

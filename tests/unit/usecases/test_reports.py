"""report: kept as a report and in the dossier of the reporter and the class, and queued for the
leadership of the school concerned (the roster's and the configured), in one transaction (rule 9);
`list`/`show`/`close`; the schools whose reports would reach nobody."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.chat.front import ChatFrontEnd
from bot.dispatch import Dispatcher
from bot.domain import (
    ContactPreference,
    Person,
    Report,
    ReportKind,
    ReportState,
    Role,
    RosterSnapshot,
    School,
)
from bot.errors import InvalidInput, NotFound
from bot.messages import M_ESCALATED, M_REPORT_KEPT, M_REPORTED
from bot.notices import ReportNotice
from bot.usecases import groups as groups_uc
from bot.usecases import reports
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    LEADERSHIP,
    VISSER_MAIL,
    FakeMailer,
    events,
    link,
    notice_of,
    notice_rows,
    person,
)

TEXT = "In de app van 2B wordt iemand gepest."
UTRECHT = "org-passie-utrecht"
ZEIST = School("org-passie-zeist", "De Passie Zeist")
BOS_MAIL = "b.bos@passie-zeist.example"


def recipients(row: object) -> list[str]:
    return [r.email for r in row.recipients]  # type: ignore[attr-defined]


async def stored(ctx: Context, report_id: int) -> Report:
    async with ctx.db.transaction() as tx:
        found = await tx.reports.get(report_id)
    assert found is not None
    return found


async def class_events(ctx: Context, class_id: str, kind: str | None = None) -> list[object]:
    async with ctx.db.transaction() as tx:
        return list(await tx.audit.events(kind=kind, class_id=class_id))


async def reimport(ctx: Context, snapshot: RosterSnapshot) -> None:
    await roster_uc.import_roster(ctx, snapshot)


def changed(snapshot: RosterSnapshot, person_id: str, **changes: object) -> RosterSnapshot:
    persons = tuple(
        replace(p, **changes) if p.id == person_id else p  # type: ignore[arg-type]
        for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


def two_schools(snapshot: RosterSnapshot, *, visser_at: str = UTRECHT) -> RosterSnapshot:
    """Class 4C belongs to De Passie Zeist, led by Bram Bos; Anne Visser leads `visser_at`."""
    classes = tuple(
        replace(c, school_id=ZEIST.id) if c.id == "cls-4c" else c for c in snapshot.classes
    )
    bos = Person("l-bos", Role.LEADERSHIP, "Bram", "Bos", email=BOS_MAIL, school_ids=(ZEIST.id,))
    moved = changed(snapshot, "l-visser", school_ids=(visser_at,))
    return replace(
        moved,
        schools=(*snapshot.schools, ZEIST),
        classes=classes,
        persons=(*moved.persons, bos),
    )


def nobody_configured(ctx: Context) -> None:
    ctx.policy = replace(ctx.policy, leadership_emails=())


# --- forwarded to the leadership of the school concerned --------------------------------------


async def test_a_report_is_kept_and_queued_for_the_schools_leadership(ctx: Context) -> None:
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    # The roster's administrator of the school first, then the configured address.
    assert recipients(row) == [VISSER_MAIL, LEADERSHIP]
    assert row.pupil_id == "p-2b-01"
    assert report.forwarded_to == (VISSER_MAIL, LEADERSHIP)
    assert await stored(ctx, report.id) == report
    assert (report.kind, report.state, report.reporter_id) == (
        ReportKind.REPORT,
        ReportState.OPEN,
        "p-2b-01",
    )
    assert (report.school_id, report.class_ids, report.group_id) == (UTRECHT, ("cls-2b",), None)
    assert (report.platform, report.text) == ("console", TEXT)


async def test_the_report_notice_carries_its_context(ctx: Context) -> None:
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.kind == "report"
    assert notice.text == TEXT
    assert notice.reporter == "Zoë van den Berg (leerling, p-2b-01)"
    assert notice.class_code == "2B"
    assert notice.created_at == "2026-11-23 10:00"
    assert (notice.report_id, notice.platform, notice.group) == (report.id, "console", None)


async def test_a_report_is_in_the_dossier_of_the_reporter_and_of_the_class(ctx: Context) -> None:
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [event] = await events(ctx, "report", "p-2b-01")
    assert event.details["text"] == TEXT
    assert event.details["report"] == report.id
    assert event.actor_id == "p-2b-01"
    assert event.class_ids == ("cls-2b",)
    assert await class_events(ctx, "cls-2b", "report") == [event]
    assert await class_events(ctx, "cls-4c", "report") == []


async def test_an_escalation_is_its_own_kind_about_every_class_of_the_reporter(
    ctx: Context,
) -> None:
    report = await reports.report(
        ctx, await person(ctx, "t-bakker"), TEXT, escalation=True, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.kind == "escalation"
    assert notice.class_code == "2B, 4C"
    assert report.kind == ReportKind.ESCALATION
    assert report.class_ids == ("cls-2b", "cls-4c")
    assert len(await events(ctx, "escalation", "t-bakker")) == 1
    assert len(await class_events(ctx, "cls-4c", "escalation")) == 1


async def test_an_escalation_in_a_class_group_is_about_that_class(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "t-bakker")  # teaches 2B and 4C
    reply = await front.handle(
        "console", "t-bakker", "/escaleren het loopt uit de hand", chat_id=group.chat_id,
        in_group=True,
    )  # fmt: skip
    assert reply.texts == [M_ESCALATED("nl", number=1)]
    assert reply.delete_original
    report = await stored(ctx, 1)
    assert (report.class_ids, report.group_id, report.platform) == (
        ("cls-2b",),
        group.id,
        "console",
    )
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert (notice.class_code, notice.group) == ("2B", group.chat_id)


async def test_a_report_from_someone_in_no_class_goes_to_the_leadership_of_their_school(
    ctx: Context,
) -> None:
    nobody_configured(ctx)
    report = await reports.report(
        ctx, await person(ctx, "g-02"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.class_code is None
    assert (report.school_id, report.class_ids) == (UTRECHT, ())
    assert recipients(row) == [VISSER_MAIL]


async def test_each_school_reports_to_its_own_principal(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    nobody_configured(ctx)
    await reimport(ctx, two_schools(snapshot))
    in_2b = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    in_4c = await reports.report(
        ctx, await person(ctx, "p-4c-01"), TEXT, escalation=False, source="console"
    )
    assert (in_2b.school_id, in_2b.forwarded_to) == (UTRECHT, (VISSER_MAIL,))
    assert (in_4c.school_id, in_4c.forwarded_to) == (ZEIST.id, (BOS_MAIL,))
    rows = await notice_rows(ctx, "report")
    assert [recipients(r) for r in rows] == [[VISSER_MAIL], [BOS_MAIL]]


async def test_a_reimport_that_moves_the_principal_changes_who_gets_the_next_report(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    nobody_configured(ctx)
    zoe = await person(ctx, "p-2b-01")
    before = await reports.report(ctx, zoe, TEXT, escalation=False, source="console")
    await reimport(ctx, changed(two_schools(snapshot), "l-visser", school_ids=(ZEIST.id,)))
    after = await reports.report(ctx, zoe, TEXT, escalation=False, source="console")
    in_4c = await reports.report(
        ctx, await person(ctx, "p-4c-01"), TEXT, escalation=False, source="console"
    )
    assert (await person(ctx, "l-visser")).school_ids == (ZEIST.id,)
    assert before.forwarded_to == (VISSER_MAIL,)
    assert after.forwarded_to == ()
    assert in_4c.forwarded_to == (BOS_MAIL, VISSER_MAIL)  # by person id
    assert [s.id for s in await reports.schools_without_leadership(ctx)] == [UTRECHT]


async def test_configured_and_roster_leadership_are_merged_without_duplicates(
    ctx: Context,
) -> None:
    ctx.policy = replace(
        ctx.policy, leadership_emails=("A.Visser@Passie-Utrecht.example", LEADERSHIP)
    )
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    assert report.forwarded_to == (VISSER_MAIL, LEADERSHIP)
    assert recipients(row) == [VISSER_MAIL, LEADERSHIP]


@pytest.mark.parametrize("preference", [ContactPreference.NONE, ContactPreference.POST])
async def test_a_leader_who_may_not_be_emailed_is_not_mailed(
    ctx: Context, snapshot: RosterSnapshot, preference: ContactPreference
) -> None:
    await reimport(ctx, changed(snapshot, "l-visser", preference=preference))
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    assert recipients(row) == [LEADERSHIP]
    assert report.forwarded_to == (LEADERSHIP,)


# --- nobody to forward it to: kept, said, warned ---------------------------------------------


@pytest.mark.parametrize("escalation", [False, True])
async def test_without_any_leadership_it_is_kept_but_not_mailed(
    ctx: Context, snapshot: RosterSnapshot, escalation: bool
) -> None:
    nobody_configured(ctx)
    await reimport(ctx, changed(snapshot, "l-visser", email=None))
    kind = "escalation" if escalation else "report"
    report = await reports.report(
        ctx, await person(ctx, "t-devries"), TEXT, escalation=escalation, source="console"
    )
    assert report.forwarded_to == ()
    assert await stored(ctx, report.id) == report
    assert await notice_rows(ctx) == []
    [event] = await events(ctx, kind, "t-devries")
    assert event.details["forwarded"] == 0
    assert event.class_ids == ("cls-2b",)
    [not_mailed] = await events(ctx, f"{kind}-not-mailed")
    assert not_mailed.details["error"] == "no leadership address"
    assert [s.id for s in await reports.schools_without_leadership(ctx)] == [UTRECHT]


async def test_the_reporter_is_told_it_was_kept_not_forwarded(
    ctx: Context, snapshot: RosterSnapshot, front: ChatFrontEnd
) -> None:
    nobody_configured(ctx)
    await reimport(ctx, changed(snapshot, "l-visser", email=None))
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", "/melden iemand wordt gepest")
    assert reply.texts == [M_REPORT_KEPT("nl", number=1)]
    assert "doorgestuurd naar de schoolleiding en" not in reply.texts[0]
    assert (await stored(ctx, 1)).forwarded_to == ()


async def test_a_forwarded_report_is_confirmed_with_its_number(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    await front.handle("console", "p-2b-01", "/melden eerste")
    reply = await front.handle("console", "p-2b-01", "/melden tweede")
    assert reply.texts == [M_REPORTED("nl", number=2)]
    assert "(nummer 2)" in reply.texts[0]


async def test_schools_with_leadership_are_not_warned_about(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    assert await reports.schools_without_leadership(ctx) == []
    nobody_configured(ctx)
    assert await reports.schools_without_leadership(ctx) == []  # the roster's administrator
    await reimport(ctx, two_schools(snapshot))
    assert await reports.schools_without_leadership(ctx) == []
    await reimport(ctx, changed(two_schools(snapshot), "l-bos", email=None))
    assert await reports.schools_without_leadership(ctx) == [ZEIST]


# --- list, show, close ---------------------------------------------------------------------------


async def test_close_records_who_and_why_and_is_audited(ctx: Context) -> None:
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    closed = await reports.close_report(ctx, report.id, by="directie", note="Besproken met ouders.")
    assert closed.state == ReportState.CLOSED
    assert (closed.closed_by, closed.close_note) == ("directie", "Besproken met ouders.")
    assert closed.closed_at == ctx.clock.now()
    [event] = await events(ctx, "report-closed", "p-2b-01")
    assert event.details["by"] == "directie"
    assert event.details["note"] == "Besproken met ouders."
    assert event.class_ids == ("cls-2b",)
    assert await class_events(ctx, "cls-2b", "report-closed") == [event]


async def test_closing_twice_or_an_unknown_report_is_refused(ctx: Context) -> None:
    report = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    await reports.close_report(ctx, report.id, by="directie", note="Afgehandeld.")
    with pytest.raises(InvalidInput) as again:
        await reports.close_report(ctx, report.id, by="iemand", note="Nog eens.")
    assert (
        str(again.value) == f"melding {report.id} is al gesloten (2026-11-23 10:00, door directie)"
    )
    with pytest.raises(NotFound):
        await reports.close_report(ctx, 99, by="directie", note="?")
    with pytest.raises(NotFound):
        await reports.show_report(ctx, 99)
    assert (await stored(ctx, report.id)).close_note == "Afgehandeld."
    assert len(await events(ctx, "report-closed")) == 1


async def test_list_shows_every_report_and_open_only_the_open_ones(ctx: Context) -> None:
    zoe, bakker = await person(ctx, "p-2b-01"), await person(ctx, "t-bakker")
    first = await reports.report(ctx, zoe, TEXT, escalation=False, source="console")
    second = await reports.report(ctx, bakker, TEXT, escalation=True, source="console")
    await reports.close_report(ctx, first.id, by="directie", note="Afgehandeld.")

    everything = await reports.list_reports(ctx)
    still_open = await reports.list_reports(ctx, open_only=True)
    assert [v.report.id for v in everything] == [first.id, second.id]
    assert [v.report.id for v in still_open] == [second.id]
    view = still_open[0]
    assert view.class_codes == "2B, 4C"
    assert view.school is not None
    assert view.school.name == "De Passie Utrecht"
    assert view.reporter is not None
    assert view.reporter.id == "t-bakker"


async def test_show_gives_the_group_it_was_sent_in(ctx: Context, front: ChatFrontEnd) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "t-devries")
    await front.handle(
        "console", "t-devries", "/escaleren ruzie", chat_id=group.chat_id, in_group=True
    )
    view = await reports.show_report(ctx, 1)
    assert view.group == group
    assert view.report.text == "ruzie"
    assert view.class_codes == "2B"


async def test_a_queued_report_reaches_leadership_as_a_notice(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await reports.report(ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="cli")
    stats = await dispatcher.run_once()
    [message] = mailer.to(VISSER_MAIL)
    assert isinstance(message.notice, ReportNotice)
    assert message.to == (VISSER_MAIL, LEADERSHIP)
    assert stats.notices == 1
    assert stats.sent == 0

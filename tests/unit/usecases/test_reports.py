"""report: kept in the dossier and queued for leadership in one transaction (rule 9)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.dispatch import Dispatcher
from bot.notices import ReportNotice
from bot.usecases import reports
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    LEADERSHIP,
    FakeMailer,
    events,
    notice_of,
    notice_rows,
    person,
)

TEXT = "In de app van 2B wordt iemand gepest."


async def test_a_report_is_queued_for_leadership(ctx: Context) -> None:
    queued = await reports.report(
        ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="console"
    )
    [row] = await notice_rows(ctx, "report")
    assert queued is True
    assert [r.email for r in row.recipients] == [LEADERSHIP]
    assert row.pupil_id == "p-2b-01"


async def test_the_report_notice_names_reporter_class_and_text(ctx: Context) -> None:
    await reports.report(ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="cli")
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.kind == "report"
    assert notice.text == TEXT
    assert notice.reporter == "Zoë van den Berg (pupil, p-2b-01)"
    assert notice.class_code == "2B"
    assert notice.created_at == "2026-11-23 10:00"


async def test_a_report_is_audited_for_the_reporter(ctx: Context) -> None:
    await reports.report(ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="cli")
    [event] = await events(ctx, "report", "p-2b-01")
    assert event.details["text"] == TEXT
    assert event.actor_id == "p-2b-01"


async def test_an_escalation_is_its_own_kind(ctx: Context) -> None:
    await reports.report(ctx, await person(ctx, "t-bakker"), TEXT, escalation=True, source="cli")
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.kind == "escalation"
    assert notice.class_code == "2B, 4C"
    assert len(await events(ctx, "escalation", "t-bakker")) == 1


async def test_a_report_from_someone_in_no_class_has_no_class_code(ctx: Context) -> None:
    await reports.report(ctx, await person(ctx, "g-02"), TEXT, escalation=False, source="cli")
    [row] = await notice_rows(ctx, "report")
    notice = notice_of(row)
    assert isinstance(notice, ReportNotice)
    assert notice.class_code is None


@pytest.mark.parametrize("escalation", [False, True])
async def test_without_a_leadership_address_it_is_kept_but_not_mailed(
    ctx: Context, escalation: bool
) -> None:
    ctx.policy = replace(ctx.policy, leadership_emails=())
    kind = "escalation" if escalation else "report"
    queued = await reports.report(
        ctx, await person(ctx, "t-devries"), TEXT, escalation=escalation, source="cli"
    )
    assert queued is False
    assert await notice_rows(ctx) == []
    assert len(await events(ctx, kind, "t-devries")) == 1
    [not_mailed] = await events(ctx, f"{kind}-not-mailed")
    assert not_mailed.details["error"] == "no leadership address"


async def test_a_queued_report_reaches_leadership_as_a_notice(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await reports.report(ctx, await person(ctx, "p-2b-01"), TEXT, escalation=False, source="cli")
    stats = await dispatcher.run_once()
    [message] = mailer.to(LEADERSHIP)
    assert isinstance(message.notice, ReportNotice)
    assert stats.notices == 1
    assert stats.sent == 0

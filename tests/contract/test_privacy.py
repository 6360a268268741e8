"""`PrivacyRepository` (GDPR erasure and the retention period), the same over memory, SQLite and
PostgreSQL (see conftest). The demo school: Zoë van den Berg (p-2b-01), her mother Marieke (g-01),
her brother Lucas (p-4c-01)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.domain import (
    AuditEvent,
    Channel,
    DeliveryStatus,
    GroupState,
    Invite,
    MemberState,
    NewDelivery,
    Reason,
    Recipient,
    Report,
    ReportKind,
    ReportState,
)
from bot.notices import ReportNotice
from bot.repositories import UnitOfWork
from tests.contract.test_repositories import HASH, T0, announcement, seeded

EVERYWHERE = ("Zoë van den Berg", "Zoë Berg", "Z. van den Berg")
TIED = ("Zoë", "Berg", "van den Berg")
KEEP = ("Lucas van den Berg", "Marieke van den Berg")


async def scenario(uow: UnitOfWork) -> dict[str, int]:
    """Zoë linked in 2B's group, a sent and a pending copy for her, a report by her and one by
    Noor about her, events, a draft: ids by name."""
    await seeded(uow)
    async with uow.transaction() as r:
        group = await r.groups.add("cls-2b", "console", "chat-2b", GroupState.ACTIVE, T0)
        await r.accounts.link("console", "acct-zoe", "p-2b-01", T0)
        await r.groups.set_member(group.id, "p-2b-01", "acct-zoe", MemberState.MEMBER, T0)
        await r.invites.add(Invite(HASH, "p-2b-01", T0, T0 + timedelta(days=14), T0))
        sent_id = await r.announcements.add(announcement())
        pending_id = await r.announcements.add(announcement())
        mother = Recipient("g-01", "Marieke van den Berg", email="marieke@vandenberg.example")
        rows = [
            NewDelivery(
                person_id="p-2b-01",
                channel=Channel.EMAIL,
                reason=Reason.NOT_LINKED,
                status=status,
                due_at=T0,
                idempotency_key=f"copy-{announcement_id}",
                recipients=(mother,),
                announcement_id=announcement_id,
            )
            for announcement_id, status in (
                (sent_id, DeliveryStatus.SENT),
                (pending_id, DeliveryStatus.PENDING),
            )
        ]
        notice = ReportNotice(
            kind="report",
            reporter="Noor El Amrani (leerling, p-2b-03)",
            text="Zoë van den Berg wordt gepest; Zoë en Lucas van den Berg weten ervan.",
            created_at="2026-11-23 10:00",
            school_name="De Passie Utrecht",
        )
        rows.append(
            NewDelivery(
                person_id="p-2b-03",
                channel=Channel.EMAIL,
                reason=None,
                status=DeliveryStatus.PENDING,
                due_at=T0,
                idempotency_key="report-noor",
                recipients=(Recipient("", "directie", email="directie@example.org"),),
                notice=notice,
            )
        )
        sent, pending, leadership = await r.outbox.add(rows)
        await r.outbox.mark_sent([sent], T0, None)
        own = await r.reports.add(
            Report(0, ReportKind.REPORT, "p-2b-01", T0, "Ik, Zoë, word uitgescholden.")
        )
        about = await r.reports.add(Report(0, ReportKind.REPORT, "p-2b-03", T0, notice.text))
        await r.audit.add(
            [
                AuditEvent("report", T0, "p-2b-01", ("p-2b-01",), {"text": "Ik, Zoë."}),
                AuditEvent("report", T0, "p-2b-03", ("p-2b-03",), {"text": notice.text}),
                AuditEvent("membership-moved", T0, None, ("g-01",), {"to": "p-2b-01"}),
            ]
        )
        draft = json.dumps({"draft": "{}", "account": "acct-zoe", "lang": "nl"})
        await r.state.set("console", "draft:tok", draft)
        await r.state.set("console", "pending:acct-zoe", "tok")
        await r.state.set("console", "other", "Zoë van den Berg")
    return {
        "group": group.id,
        "sent": sent,
        "pending": pending,
        "leadership": leadership,
        "own": own,
        "about": about,
    }


async def test_an_erasure_is_the_same_everywhere(uow: UnitOfWork) -> None:
    ids = await scenario(uow)

    async with uow.transaction() as r:
        erased = await r.privacy.erase(
            "p-2b-01", "erased-1", everywhere=EVERYWHERE, tied=TIED, keep=KEEP
        )

    assert erased.counts == {
        "cancelled": 1,
        "letters_removed": 0,
        "platform_state": 2,
        "accounts": 1,
        "invites": 1,
        "memberships": 1,
        "persons": 1,
        "audit_events": 1,
        "deliveries": 2,
        "announcements": 0,
        "schedules": 0,
        "reports": 1,
        "scrubbed": erased.counts["scrubbed"],
    }
    assert erased.counts["scrubbed"] >= 5
    async with uow.transaction() as r:
        assert await r.roster.person("p-2b-01") is None
        assert await r.roster.person("p-4c-01") is not None
        assert await r.accounts.of_person("p-2b-01") == []
        assert await r.groups.members(ids["group"]) == {}
        assert await r.invites.get(HASH) is None
        sent, pending, leadership = await r.outbox.get(
            [ids["sent"], ids["pending"], ids["leadership"]]
        )
        own, about = await r.reports.get(ids["own"]), await r.reports.get(ids["about"])
        events = await r.audit.events()
        state = [await r.state.get("console", k) for k in ("draft:tok", "pending:acct-zoe")]
        other = await r.state.get("console", "other")
    assert (sent.pupil_id, sent.status) == ("erased-1", DeliveryStatus.SENT)
    assert (pending.pupil_id, pending.status) == ("erased-1", DeliveryStatus.WITHDRAWN)
    assert sent.recipients[0].name == "Marieke van den Berg"  # her mother's name, whole
    assert leadership.status == DeliveryStatus.PENDING  # a report about her still goes out
    assert isinstance(leadership.notice, ReportNotice)
    assert leadership.notice.text == (
        "erased-1 wordt gepest; Zoë en Lucas van den Berg weten ervan."
    )
    assert own is not None
    assert about is not None
    assert (own.reporter_id, own.text) == (None, "Ik, erased-1, word uitgescholden.")
    assert (about.reporter_id, about.state) == ("p-2b-03", ReportState.OPEN)
    assert about.text == leadership.notice.text
    assert [(e.actor_id, e.person_ids, e.details) for e in events] == [
        ("erased-1", ("erased-1",), {"text": "Ik, erased-1."}),
        ("p-2b-03", ("p-2b-03",), {"text": leadership.notice.text}),
        (None, ("g-01",), {"to": "erased-1"}),
    ]
    assert state == [None, None]
    assert other == "erased-1"


async def test_a_purge_removes_what_is_past_and_keeps_what_is_open_or_not_done(
    uow: UnitOfWork,
) -> None:
    ids = await scenario(uow)
    async with uow.transaction() as r:
        await r.reports.close(ids["own"], "directie", "besproken", T0)
    later = datetime(2028, 8, 1, tzinfo=UTC)

    async with uow.transaction() as r:
        dry = await r.privacy.purge(later, dry_run=True)
    async with uow.transaction() as r:
        assert len(await r.audit.events()) == 3
        done = await r.privacy.purge(later, dry_run=False)
    async with uow.transaction() as r:
        again = await r.privacy.purge(later, dry_run=False)
        left = {
            "announcements": [a.id for a in await r.announcements.list()],
            "reports": [x.id for x in await r.reports.list()],
            "events": len(await r.audit.events()),
            "rows": [d.id for d in await r.outbox.get([ids["sent"], ids["pending"]])],
        }

    assert (
        dry.counts
        == done.counts
        == {
            "announcements": 1,  # the other one still has a copy pending
            "deliveries": 1,
            "notices": 0,  # the report to leadership is not sent yet
            "letters": 0,
            "audit_events": 3,
            "reports": 1,  # the closed one; the open one is kept
            "invites": 1,
            "schedules": 0,
            "firings": 0,
        }
    )
    assert set(again.counts.values()) == {0}
    assert left == {
        "announcements": [2],
        "reports": [ids["about"]],
        "events": 0,
        "rows": [ids["pending"]],
    }

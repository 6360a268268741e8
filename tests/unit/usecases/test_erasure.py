"""person erase (GDPR art. 17, `bot.usecases.erasure`): the person's data goes, the school's records
stay with a pseudonym and the same counts, unsent copies are cancelled, the platforms remove them
from their groups (now, or later by the process that runs the platform), and a pupil who comes
back in a roster import is a new person.

The demo school: Zoë van den Berg (p-2b-01) has a brother Lucas van den Berg in 4C (p-4c-01) and
a mother Marieke; Daan de Jong's father Peter wants letters (Oudegracht 112), and so does Sem's
mother (Kanaalstraat 41); Noor El Amrani's parents both have e-mail."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.dispatch import Dispatcher
from bot.domain import Address, DeliveryStatus, Person, Role, RosterSnapshot
from bot.errors import NotFound
from bot.outbox import STATE_SCOPE
from bot.ports import Letter
from bot.usecases import announcing, erasure, queries, reports, scheduling, sweep
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from bot.usecases.scheduling import ScheduleRequest
from bot.when import parse_when
from storage.memory import InMemoryUnitOfWork
from storage.scrub import Scrubber
from tests.unit.usecases.conftest import (
    RETRY,
    FakeMailer,
    FakePlatform,
    by_pupil,
    class_2b_with_group,
    events,
    homework,
    person,
)

ZOE_FORMS = ("Zoë van den Berg", "Zoë Berg", "Z. van den Berg")


def stored_text(db: InMemoryUnitOfWork) -> str:
    """Everything the in-memory database holds, as one text (what a scan of it would read)."""
    tables = db._store.tables
    return "\n".join(repr(value) for table in tables.values() for value in table.values())


async def report_texts(ctx: Context) -> dict[int, tuple[str | None, str]]:
    async with ctx.db.transaction() as tx:
        return {r.id: (r.reporter_id, r.text) for r in await tx.reports.list()}


# --- what is replaced where ---------------------------------------------------------------------


def test_full_names_and_contacts_everywhere_name_parts_only_where_the_record_is_theirs() -> None:
    zoe = Person(
        "p-1",
        Role.PUPIL,
        "Zoë",
        "Berg",
        "van den",
        email="zoe@thuis.example",
        address=Address("Lange Nieuwstraat 5", "3512 PE", "Utrecht"),
        preferred_given_name="Zo",
    )
    lucas = Person("p-2", Role.PUPIL, "Lucas", "Berg", "van den")
    texts = erasure.texts_to_replace(zoe, [lucas])

    assert set(texts.everywhere) == {
        "Zoë van den Berg",
        "Zoë Berg",
        "Zo van den Berg",
        "Zo Berg",
        "Z. van den Berg",
        "zoe@thuis.example",
        "Lange Nieuwstraat 5",
        "3512 PE",
        "3512PE",
    }
    assert set(texts.tied) == {"Zoë", "Zo", "Berg", "van den Berg"}
    assert "Lucas van den Berg" in texts.keep


def test_what_a_person_who_stays_shares_is_replaced_only_where_the_record_is_the_erased_ones() -> (
    None
):
    home = Address("Lange Nieuwstraat 5", "3512 PE", "Utrecht")
    jan = Person("p-1", Role.PUPIL, "Jan", "Vries", "de", email="fam@devries.example", address=home)
    father = Person("g-1", Role.GUARDIAN, "Jan", "Vries", "de", email="fam@devries.example")
    neighbour = Person(
        "p-9", Role.PUPIL, "Bo", "Smit", address=Address("Lange Nieuwstraat 7", "3512 PE", "U")
    )
    texts = erasure.texts_to_replace(jan, [father, neighbour])

    assert "Jan de Vries" not in texts.everywhere
    assert "Jan de Vries" in texts.tied
    assert "fam@devries.example" in texts.tied
    assert "3512 PE" in texts.tied
    assert "3512 PE" not in texts.everywhere
    assert "Lange Nieuwstraat 5" in texts.everywhere  # the neighbour lives at number 7
    assert "Jan de Vries" not in texts.keep  # the same name: the erased one's too


def test_the_scrubber_replaces_whole_words_in_any_case_and_leaves_other_names_whole() -> None:
    scrub = Scrubber(
        "p-2b-02",
        "erased-1",
        everywhere=["Daan de Jong", "D. de Jong"],
        tied=["Daan", "de Jong", "Jong"],
        keep=["Peter de Jong", "Daan Bakker"],
    )
    text = "Aan Peter de Jong: DAAN DE JONG (p-2b-02) en Daan Bakker; de Jong, Daantje."

    assert scrub.text(text, tied=False) == (
        "Aan Peter de Jong: erased-1 (p-2b-02) en Daan Bakker; de Jong, Daantje."
    )
    assert scrub.text(text, tied=True) == (
        "Aan Peter de Jong: erased-1 (erased-1) en Daan Bakker; erased-1, Daantje."
    )
    assert scrub.text("p-2b-02", tied=False) == "erased-1"
    # A name inside JSON stored as text keeps its escapes.
    assert scrub.text(json.dumps({"who": "Daan de Jong"}), tied=False) == '{"who": "erased-1"}'
    nested = Scrubber("x", "erased-2", everywhere=["Zoë Berg"], tied=[])
    assert "Zo" not in nested.text(json.dumps({"who": "Zoë Berg"}), tied=False)


# --- erasing -------------------------------------------------------------------------------------


async def test_an_erased_pupil_leaves_no_name_and_every_record_and_count_stays(
    ctx: Context, db: InMemoryUnitOfWork, dispatcher: Dispatcher, console: FakePlatform
) -> None:
    group = await class_2b_with_group(ctx)  # Zoë, Noor and their mentor in the console group
    first = (await announcing.announce(ctx, homework())).announcement
    await dispatcher.run_once()
    zoe, noor = await person(ctx, "p-2b-01"), await person(ctx, "p-2b-03")
    await reports.report(
        ctx, zoe, "Ik, Zoë, word uitgescholden.", escalation=False, source="console"
    )
    await reports.report(
        ctx,
        noor,
        "Zoë van den Berg wordt gepest; Zoë en Lucas van den Berg weten ervan.",
        escalation=False,
        source="console",
    )
    second = (
        await announcing.announce(ctx, homework(subject="aardrijkskunde", text="Lees hoofdstuk 2."))
    ).announcement
    copies = {a: len(await by_pupil(ctx, a)) for a in (first.id, second.id)}
    her_events = len(await events(ctx, person_id="p-2b-01"))
    assert any(f in stored_text(db) for f in ZOE_FORMS)
    async with ctx.db.transaction() as tx:
        lucas = await tx.roster.person("p-4c-01")

    result = await erasure.erase(ctx, "p-2b-01", "beheerder")

    pseudonym = result.pseudonym
    assert pseudonym.startswith("erased-")
    async with ctx.db.transaction() as tx:
        assert await tx.roster.person("p-2b-01") is None
        assert await tx.accounts.person_of("console", "p-2b-01") is None
        assert "p-2b-01" not in await tx.groups.members(group.id)
        assert len(await tx.announcements.list()) == 2
        assert await tx.roster.person("p-4c-01") == lucas  # her brother is left alone
    assert (group.chat_id, "p-2b-01", "erased") in console.removed
    assert (result.removals, result.removed) == (1, 1)
    # The records stay, with the same counts, and carry the pseudonym instead.
    assert {a: len(await by_pupil(ctx, a)) for a in copies} == copies
    assert pseudonym in await by_pupil(ctx, first.id)
    assert (await by_pupil(ctx, first.id))[pseudonym].status == DeliveryStatus.SENT
    # What had not gone out to her is cancelled; the others still get it.
    assert (await by_pupil(ctx, second.id))[pseudonym].status == DeliveryStatus.WITHDRAWN
    assert (await by_pupil(ctx, second.id))["p-2b-03"].status == DeliveryStatus.PENDING
    assert result.counts["cancelled"] == 1
    assert await events(ctx, person_id="p-2b-01") == []
    kinds = [e.kind for e in await events(ctx, person_id=pseudonym)]
    assert len(kinds) == her_events + 2
    assert kinds[-2:] == ["person-erased", "member-removed"]
    [erased] = await events(ctx, "person-erased")
    assert erased.details["by"] == "beheerder"
    assert erased.details["audit_events"] == her_events
    assert "p-2b-01" not in json.dumps(erased.details)
    # Her own report loses her given name; a classmate's keeps the "Zoë" that may be anyone,
    # and her brother's name.
    assert list((await report_texts(ctx)).values()) == [
        (None, f"Ik, {pseudonym}, word uitgescholden."),
        ("p-2b-03", f"{pseudonym} wordt gepest; Zoë en Lucas van den Berg weten ervan."),
    ]
    text = stored_text(db)
    assert not any(f.casefold() in text.casefold() for f in ZOE_FORMS)
    assert "'p-2b-01'" not in text
    assert '"p-2b-01"' not in text


async def test_a_pupil_who_comes_back_in_a_roster_import_is_a_new_person(
    ctx: Context, dispatcher: Dispatcher, snapshot: RosterSnapshot
) -> None:
    await class_2b_with_group(ctx)
    await announcing.announce(ctx, homework())
    await dispatcher.run_once()
    await erasure.erase(ctx, "p-2b-01", "beheerder")

    await roster_uc.import_roster(ctx, snapshot)

    async with ctx.db.transaction() as tx:
        back = await tx.roster.person("p-2b-01")
        assert back is not None
        assert back.full_name == "Zoë van den Berg"
        assert await tx.outbox.for_person("p-2b-01") == []
        assert await tx.accounts.of_person("p-2b-01") == []
        assert await tx.audit.events(person_id="p-2b-01") == []


async def test_an_unknown_person_is_refused_and_nothing_changes(ctx: Context) -> None:
    with pytest.raises(NotFound):
        await erasure.erase(ctx, "p-nobody", "beheerder")
    assert await events(ctx, "person-erased") == []


@dataclass
class FilePrinter:
    """A `LetterPrinter` that writes a file per letter, as the PDF printer does."""

    directory: Path
    letters: list[Letter] = field(default_factory=list)

    def render(self, letter: Letter) -> str:
        self.letters.append(letter)
        path = self.directory / f"{letter.key}.pdf"
        path.write_text("\n".join(repr(item) for item in letter.items), encoding="utf-8")
        return str(path)


@pytest.fixture
def file_dispatcher(ctx: Context, mailer: FakeMailer, tmp_path: Path) -> Dispatcher:
    return Dispatcher(
        ctx,
        mailer=mailer,
        printer=FilePrinter(tmp_path),
        retry=RETRY,
        batch_size=50,
        lease_seconds=300,
        rng=random.Random(7),
    )


async def letters(ctx: Context) -> dict[str, Any]:
    async with ctx.db.transaction() as tx:
        return {x.address: x for x in await tx.letters.list()}


async def test_a_letter_not_posted_yet_is_taken_apart_and_its_file_deleted(
    ctx: Context, file_dispatcher: Dispatcher
) -> None:
    announced = (await announcing.announce(ctx, homework())).announcement
    await file_dispatcher.run_once()
    before = await letters(ctx)
    daans = next(x for a, x in before.items() if "Oudegracht" in a)
    sems = next(x for a, x in before.items() if "Kanaalstraat" in a)
    assert Path(daans.path).exists()
    assert Path(sems.path).exists()

    result = await erasure.erase(ctx, "p-2b-02", "beheerder")

    assert result.counts["letters_removed"] == 1
    assert result.letter_files == 1
    assert not Path(daans.path).exists()
    assert Path(sems.path).exists()
    assert list(await letters(ctx)) == [sems.address]
    copies = await by_pupil(ctx, announced.id)
    assert copies[result.pseudonym].status == DeliveryStatus.WITHDRAWN
    assert copies[result.pseudonym].letter_key is None
    assert copies["p-2b-04"].letter_key == sems.key


async def test_a_posted_letter_keeps_its_record_and_its_recipients_name_but_loses_its_file(
    ctx: Context, file_dispatcher: Dispatcher
) -> None:
    await announcing.announce(ctx, homework())
    await file_dispatcher.run_once()
    daans = next(x for a, x in (await letters(ctx)).items() if "Oudegracht" in a)
    assert await queries.mark_posted(ctx, [daans.key]) == ([], [daans.key])

    result = await erasure.erase(ctx, "p-2b-02", "beheerder")

    after = next(x for a, x in (await letters(ctx)).items() if "Oudegracht" in a)
    assert after.key == daans.key
    assert after.posted_at is not None
    assert after.recipient_name == "Peter de Jong"  # his father's name, whole
    assert not Path(daans.path).exists()
    assert result.letter_files == 1
    assert result.counts["cancelled"] == 0


async def test_an_erased_parent_is_taken_off_a_copy_the_other_parent_still_gets(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    announced = (await announcing.announce(ctx, homework())).announcement
    noors = (await by_pupil(ctx, announced.id))["p-2b-03"]
    assert {r.person_id for r in noors.recipients} == {"g-03", "g-04"}

    result = await erasure.erase(ctx, "g-03", "beheerder")
    await dispatcher.run_once()

    assert result.counts["cancelled"] == 0
    copy = (await by_pupil(ctx, announced.id))["p-2b-03"]
    assert [r.person_id for r in copy.recipients] == ["g-04"]
    assert copy.status == DeliveryStatus.SENT
    assert mailer.to("khadija.elamrani@mail.example") == []
    assert len(mailer.to("y.elamrani@mail.example")) == 1


async def test_a_removal_waits_for_the_process_that_runs_the_platform(
    ctx: Context, console: FakePlatform
) -> None:
    group = await class_2b_with_group(ctx)
    del ctx.platforms["console"]

    result = await erasure.erase(ctx, "p-2b-01", "beheerder")

    assert (result.removals, result.removed) == (1, 0)
    assert console.removed == []
    async with ctx.db.transaction() as tx:
        queued = json.loads(await tx.state.get(STATE_SCOPE, erasure.REMOVALS) or "[]")
    assert queued == [{"group": group.id, "account": "p-2b-01", "person": result.pseudonym}]

    ctx.platforms["console"] = console
    stats = await sweep.run_due(ctx)
    await sweep.run_due(ctx)

    assert stats.removed_members == 1
    assert console.removed == [(group.chat_id, "p-2b-01", "erased")]
    async with ctx.db.transaction() as tx:
        assert not await tx.state.get(STATE_SCOPE, erasure.REMOVALS)
    assert [e.kind for e in await events(ctx, "member-removed", result.pseudonym)] == [
        "member-removed"
    ]


async def test_an_erased_teacher_leaves_signed_announcements_unsigned_and_his_reminders_end(
    ctx: Context, db: InMemoryUnitOfWork
) -> None:
    announced = (await announcing.announce(ctx, homework())).announcement
    assert "J. de Vries" in announced.signature
    when = parse_when("elke maandag 08:00", now=ctx.clock.now(), tz=ctx.policy.timezone)
    schedule, _ = await scheduling.add(
        ctx, ScheduleRequest("2B", "t-devries", when, "Neem je gymkleren mee")
    )

    result = await erasure.erase(ctx, "t-devries", "beheerder")

    assert result.ended_schedules == 1
    assert result.counts["announcements"] == 1
    assert result.counts["schedules"] == 1
    async with ctx.db.transaction() as tx:
        [kept] = await tx.announcements.list()
        ended = await tx.schedules.get(schedule.id)
    assert kept.author_id == result.pseudonym
    assert kept.signature.startswith(f"\u2014 {result.pseudonym}, mentor 2B")
    assert kept.body == announced.body
    assert ended is not None
    assert ended.cancelled_at is not None
    assert ended.author_id == result.pseudonym
    text = stored_text(db)
    assert "J. de Vries" not in text
    assert "Jan de Vries" not in text
    assert "j.devries@passie-utrecht.example" not in text

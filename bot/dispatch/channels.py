"""Sending one batch's rows on their channels: group posts, e-mail, letters. Each function records
its outcomes through the dispatcher (sent, retried, re-routed)."""

from __future__ import annotations

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from bot.dates import format_date
from bot.dispatch.content import announcement_notice, announcement_senders, group_html, letter_item
from bot.dispatch.group_posts import Post, PostPipeline
from bot.dispatch.languages import recipient_language, recipient_languages, recipients_language
from bot.dispatch.retry import DispatchStats
from bot.domain import Announcement, Channel, Delivery, Group, GroupState, Person, Recipient
from bot.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.notices import Notice
from bot.ports import GroupMessage, Letter, MailMessage
from bot.repositories import Repositories
from bot.usecases import undo
from bot.usecases.groups import group_lost

if TYPE_CHECKING:
    from bot.dispatch.dispatcher import Batch, Dispatcher
    from bot.policy import SchoolPolicy


async def post_groups(
    d: Dispatcher,
    deliveries: Sequence[Delivery],
    batch: Batch,
    stats: DispatchStats,
    waiting: set[int],
) -> None:
    """One post per (announcement, group) reaches every member pupil at once; it is silent when
    it goes out while lessons run (A.1, `SchoolPolicy.silent`), unless its kind is urgent. The
    posts go out several at once, each group's in order (`group_posts.PostPipeline`)."""
    units: dict[tuple[int, int], list[Delivery]] = defaultdict(list)
    for row in deliveries:
        assert row.announcement_id is not None
        units[(row.announcement_id, row.group_id or 0)].append(row)
    posts: list[Post] = []
    for (announcement_id, group_id), rows in units.items():
        group = batch.groups.get(group_id)
        announcement = batch.announcements[announcement_id]
        if group is None or group.state != GroupState.ACTIVE:
            error = PermanentDeliveryError("the group is no longer bound", reason="group-lost")
            await d.failed_for_good(rows, error, stats)
            continue
        platform = d.ctx.platforms.get(group.platform)
        if platform is None:
            # Another process (`klasbot run` with this platform configured) delivers these.
            async with d.ctx.db.transaction() as tx:
                await tx.outbox.release([r.id for r in rows], claim=rows[0].claim)
            stats.waiting += len(rows)
            waiting.update(r.id for r in rows)
            continue
        message = GroupMessage(
            chat_id=group.chat_id,
            text=announcement.signed_text,
            html=group_html(announcement),
            idempotency_key=f"{announcement_id}-g{group_id}",
        )

        # Decided when the post goes out, not when it was announced: a post held by quiet hours
        # or retried later is judged at the moment it reaches the pupils' phones (A.1).
        def silent(announcement: Announcement = announcement, row: Delivery = rows[0]) -> bool:
            school = _school_of(d.ctx.policy, row, batch)  # its school's lesson hours
            return school.silent(d.ctx.clock.now(), announcement.kind)

        async def failed(
            error: PermanentDeliveryError, rows: list[Delivery] = rows, group: Group = group
        ) -> None:
            if error.reason == "group-lost":
                await group_lost(d.ctx, group.platform, group.chat_id)
            await d.failed_for_good(rows, error, stats)

        posts.append(Post(rows, platform, message, silent=silent, failed=failed))
    await PostPipeline(d, stats).send(posts)


def _notice(d: Dispatcher, row: Delivery, batch: Batch, lang: str | None = None) -> Notice:
    if row.notice is not None:
        return row.notice
    assert row.announcement_id is not None
    a = batch.announcements[row.announcement_id]
    return announcement_notice(
        a,
        row,
        batch.pupils.get(row.pupil_id),
        batch.class_codes.get(a.class_id, ""),
        batch.senders.get(a.id),
        lang or d.ctx.policy.language,
    )


def _school_of(policy: SchoolPolicy, row: Delivery, batch: Batch) -> SchoolPolicy:
    """The policy of the school an announcement's copy is from (`Sender.policy`); the board's
    for a notice."""
    sender = batch.senders.get(row.announcement_id) if row.announcement_id is not None else None
    return sender.policy if sender is not None and sender.policy is not None else policy


async def send_mail(
    d: Dispatcher, deliveries: Sequence[Delivery], batch: Batch, stats: DispatchStats
) -> None:
    if not deliveries:
        return
    if d.mailer is None:
        await d.retry_later(
            deliveries, TransientDeliveryError("no mail transport configured"), stats
        )
        return
    policy = d.ctx.policy
    langs = await _mail_languages(d, deliveries, batch)
    messages = [
        MailMessage(
            to=tuple(r.email for r in row.recipients if r.email),
            notice=_notice(d, row, batch, langs[row.id]),
            message_id=f"<{row.idempotency_key}@klasbot>",
            lang=langs[row.id],
            reply_to=_school_of(policy, row, batch).reply_to,
        )
        for row in deliveries
    ]
    # Accepted messages are recorded in small batches while the mailer goes on over its
    # connections; a crash can repeat at most the few accepted and not yet recorded (each with
    # its Message-ID): `MAIL_UNRECORDED_PER_CONNECTION` per connection, and the one it sends.
    from bot.dispatch.dispatcher import MAIL_UNRECORDED_PER_CONNECTION, SentRecorder

    connections = getattr(d.mailer, "connections", 1)
    limit = connections * MAIL_UNRECORDED_PER_CONNECTION
    recorder = SentRecorder(d, deliveries, stats, limit=limit)
    try:
        async with recorder:
            results = await d.mailer.send(messages, on_sent=recorder.accepted)
    except TransientDeliveryError as error:
        await d.retry_later(
            [r for i, r in enumerate(deliveries) if i not in recorder.recorded], error, stats
        )
        return
    except PermanentDeliveryError as error:
        rest = [r for i, r in enumerate(deliveries) if i not in recorder.recorded]
        await d.failed_for_good(rest, error, stats)
        return
    recorded = recorder.recorded
    accepted = [
        row
        for i, (row, result) in enumerate(zip(deliveries, results, strict=True))
        if result is None and i not in recorded
    ]
    if accepted:
        await d.sent(accepted, None, stats)
    for row, result in zip(deliveries, results, strict=True):
        if isinstance(result, TransientDeliveryError):
            await d.retry_later([row], result, stats)
        elif isinstance(result, PermanentDeliveryError):
            if result.reason is None:
                result.reason = "bounced"
            await d.failed_for_good([row], result, stats)
        elif isinstance(result, DeliveryError | Exception):
            await d.retry_later([row], TransientDeliveryError(str(result)), stats)


async def _mail_languages(
    d: Dispatcher, deliveries: Sequence[Delivery], batch: Batch
) -> dict[int, str]:
    """Delivery id → the language of its e-mail: its reader's (`recipients_language`). The
    pupils the claim has read are not read again (a copy to a pupil of 16+ goes to them)."""
    wanted = {r.person_id for row in deliveries for r in row.recipients if r.person_id}
    missing = wanted - batch.pupils.keys()
    if missing == wanted:
        return await recipient_languages(d.ctx, deliveries)
    people: Mapping[str, Person] = batch.pupils
    if missing:
        async with d.ctx.db.transaction() as tx:
            people = {**batch.pupils, **await tx.roster.persons(missing)}
    school = d.ctx.policy.language
    return {row.id: recipients_language(row.recipients, people, school) for row in deliveries}


async def print_letters(
    d: Dispatcher, deliveries: Sequence[Delivery], batch: Batch, stats: DispatchStats
) -> None:
    """One letter per household per day: every pupil, announcement and notice for that address.

    The batch's letters are made in one transaction that holds its households' letters
    (`LetterRepository.lock`): a dispatcher printing for a sibling at the same time waits, then
    adds to the same letter and renders it again with everything on it."""
    if not deliveries:
        return
    if d.printer is None:
        await d.retry_later(
            deliveries, TransientDeliveryError("no letter printer configured"), stats
        )
        return
    day = d.ctx.today()
    households: dict[str, tuple[Recipient, list[Delivery]]] = {}
    for row in deliveries:
        for r in row.recipients:
            if r.address is None:
                continue
            digest = hashlib.sha256(r.address.household_key.encode()).hexdigest()[:12]
            households.setdefault(f"{day.isoformat()}-{digest}", (r, []))[1].append(row)
    # Every household's letter is written first; a copy goes on its letters only when all of
    # them were written (a copy for two households whose second letter failed is retried whole,
    # and its letter to the first household is written again then, under the same key). The
    # letters of the households one copy goes to are recorded together: a crash cannot leave a
    # copy on one household's letter while its other household's letter is forgotten. Apart
    # from that, households are taken a few at a time: writing a PDF takes a tenth of a second,
    # and on SQLite every other process waits for the transaction that holds the write lock.
    failed: dict[int, Delivery] = {}
    error: OSError | None = None
    on_letters: list[tuple[str, list[int]]] = []
    for chunk in household_chunks(households, LETTERS_PER_TRANSACTION):
        in_chunk = {r.id: r for key in chunk for r in households[key][1]}
        async with d.ctx.db.transaction() as tx:
            revised = await undo.revised_announcements(
                tx, (r.announcement_id for r in in_chunk.values() if r.announcement_id is not None)
            )
            for base_key in chunk:  # sorted: every dispatcher locks in the same order
                await tx.letters.lock(base_key)
            printed: list[tuple[str, Recipient, list[Delivery], str]] = []
            for base_key in chunk:
                recipient, rows = households[base_key]
                try:
                    key, path = await _print(d, tx, base_key, recipient, rows, batch, day)
                except OSError as exc:
                    error = exc
                    failed.update((r.id, r) for r in rows)
                    continue
                printed.append((key, recipient, rows, path))
            added_here: list[int] = []
            for key, recipient, rows, path in printed:
                assert recipient.address is not None
                claim = rows[0].claim
                added = await tx.letters.add(
                    key,
                    recipient.name,
                    ", ".join(recipient.address.lines()),
                    path,
                    d.ctx.clock.now(),
                    [r.id for r in rows if r.id not in failed],
                    claim=claim,
                )
                on_letters.append((key, added))
                added_here += added
            # A copy put on a letter after its announcement was withdrawn or corrected gets its
            # follow-up (`bot.usecases.undo`).
            on_a_letter = set(added_here)
            for announcement_id, announcement in revised.items():
                if not d.owes_follow_up(announcement):
                    continue
                copies = [
                    r
                    for r in in_chunk.values()
                    if r.id in on_a_letter and r.announcement_id == announcement_id
                ]
                await undo.follow_up_delivered(tx, d.ctx, announcement, copies)
    lost = [
        r for r in deliveries if r.id not in failed and not any(r.id in a for _, a in on_letters)
    ]
    d.lost_claim(lost)
    by_id = {r.id: r for r in deliveries}
    for _key, added in on_letters:
        stats.letters += 1
        stats.by_channel[Channel.POST.value] += sum(1 for i in added if by_id[i].announcement_id)
    if failed:
        problem = TransientDeliveryError(f"letter not written: {error}")
        await d.retry_later(list(failed.values()), problem, stats)


def _letter_order(e: Delivery) -> tuple[int, bool, str, int]:
    """Items in the order of what they are about: notices without an announcement (an
    invitation) first, then each announcement followed by its withdrawal or correction."""
    about = e.announcement_id
    if about is None:
        about = getattr(e.notice, "announcement_id", None)
    return (about or 0, e.announcement_id is None and about is not None, e.pupil_id, e.id)


LETTERS_PER_TRANSACTION = 5
"""How many households' letters one transaction writes and records (about half a second)."""


def household_chunks(
    households: dict[str, tuple[Recipient, list[Delivery]]], size: int
) -> list[list[str]]:
    """The household keys in groups of about `size`, each sorted; the households that one copy
    goes to (a pupil whose guardians live apart) are always in the same group."""
    parent = {key: key for key in households}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    first_of: dict[int, str] = {}
    for key in sorted(households):
        for row in households[key][1]:
            if row.id in first_of:
                a, b = sorted((root(first_of[row.id]), root(key)))
                parent[b] = a
            else:
                first_of[row.id] = key
    together: dict[str, list[str]] = defaultdict(list)
    for key in sorted(households):
        together[root(key)].append(key)
    chunks: list[list[str]] = []
    current: list[str] = []
    for keys in together.values():
        if current and len(current) + len(keys) > size:
            chunks.append(sorted(current))
            current = []
        current += keys
    if current:
        chunks.append(sorted(current))
    return chunks


async def _print(
    d: Dispatcher,
    tx: Repositories,
    base_key: str,
    recipient: Recipient,
    rows: list[Delivery],
    batch: Batch,
    day: date,
) -> tuple[str, str]:
    """Write one household's letter of the day with everything it carries; (key, path)."""
    policy = d.ctx.policy
    key = await tx.letters.open_key(base_key)
    earlier = await tx.letters.deliveries(key)
    ids = {r.id for r in rows}
    everything = [*[e for e in earlier if e.id not in ids], *rows]
    names = await tx.roster.persons({e.pupil_id for e in everything})
    for e in everything:
        if e.announcement_id is not None and e.announcement_id not in batch.announcements:
            found = await tx.announcements.get(e.announcement_id)
            assert found is not None
            batch.announcements[e.announcement_id] = found
            batch.senders.update(await announcement_senders(tx, policy, [found]))
        if e.announcement_id is not None and e.announcement_id in batch.announcements:
            class_id = batch.announcements[e.announcement_id].class_id
            if class_id not in batch.class_codes:
                found_classes = await tx.roster.find_classes(class_id)
                batch.class_codes[class_id] = found_classes[0].code if found_classes else class_id
    assert recipient.address is not None
    ordered = sorted(everything, key=_letter_order)
    # The letterhead is that of the school the letter's first announcement is from.
    school = next(
        (
            s.policy
            for e in ordered
            if e.announcement_id is not None
            and (s := batch.senders.get(e.announcement_id)) is not None
            and s.policy is not None
        ),
        policy,
    )
    lang = await recipient_language(tx, recipient, school.language)
    letter = Letter(
        key=key,
        recipient_name=recipient.name,
        address=recipient.address,
        items=tuple(
            letter_item(
                _notice(d, e, batch, lang),
                names[e.pupil_id].full_name if e.pupil_id in names else e.pupil_id,
                school.school_name or policy.school_name,
                lang,
            )
            for e in ordered
        ),
        date_text=format_date(day, lang),
        lang=lang,
        letterhead=school.letterhead if school is not policy else None,
        return_address=school.return_address if school is not policy else None,
    )
    assert d.printer is not None
    return key, await asyncio.to_thread(d.printer.render, letter)

"""Use cases. Every way in — the CLI, the console, Telegram, Matrix — goes through these.

The service takes its dependencies as parameters (a unit of work, a clock, the school's policy,
the channels); the bootstrap wires them. It never formats mail or talks to a platform library.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot import commands as cmd
from bot.domain import (
    Announcement,
    AnnouncementDraft,
    AuditEvent,
    Channel,
    ClassRoster,
    ContactPreference,
    DeliveryStatus,
    Group,
    GroupState,
    Invite,
    Person,
    Reason,
    Recipient,
    Role,
    RosterSnapshot,
    Route,
    SchoolClass,
)
from bot.errors import (
    Ambiguous,
    DeliveryError,
    InvalidInput,
    KlasbotError,
    NotFound,
    RuleViolation,
)
from bot.i18n import Msg
from bot.policy import SchoolPolicy
from bot.ports import ChatPlatform, Clock, LetterPrinter, Mailer, Store, UnitOfWork
from bot.routing import fallback, route_class
from bot.rules import authorization, content, kinds, signature
from bot.rules.age import is_old_enough, local_today
from bot.rules.membership import Verdict, admission

logger = logging.getLogger(__name__)

CONSOLE = "console"
DUE_AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)
PLATFORMS = ("console", "telegram", "matrix")

M_CLASS_NOT_FOUND = Msg(
    nl="Klas {ref!r} bestaat niet. Kies een klascode uit `klasbot classes`, bijvoorbeeld 2B.",
    en="Class {ref!r} does not exist. Pick a class code from `klasbot classes`, e.g. 2B.",
)
M_CLASS_AMBIGUOUS = Msg(
    nl="Klascode {ref!r} komt bij meer scholen voor; gebruik de sourcedId: {candidates}.",
    en="Class code {ref!r} exists at more than one school; use the sourcedId: {candidates}.",
)
M_PERSON_NOT_FOUND = Msg(
    nl="Persoon {ref!r} staat niet in het rooster (gebruik de sourcedId uit de roosterexport).",
    en="Person {ref!r} is not in the roster (use the sourcedId from the roster export).",
)
M_ANNOUNCEMENT_NOT_FOUND = Msg(
    nl="Bericht {ref} bestaat niet; `klasbot announcements` toont de nummers.",
    en="Announcement {ref} does not exist; `klasbot announcements` lists the ids.",
)
M_UNKNOWN_PLATFORM = Msg(
    nl="Onbekend platform {platform!r}; kies uit: {choices}.",
    en="Unknown platform {platform!r}; choose from: {choices}.",
)
M_PLATFORM_NOT_CONFIGURED = Msg(
    nl="Platform {platform} is niet ingesteld; zie de README voor de instellingen.",
    en="Platform {platform} is not configured; see the README for its settings.",
)
M_TELEGRAM_BIND_IN_GROUP = Msg(
    nl=(
        "Een Telegram-groep maakt de docent zelf: maak de groep, voeg de bot toe als beheerder en "
        "stuur daar /koppel {klas}. (Of geef met --chat het id van een bestaande groep.)"
    ),
    en=(
        "A teacher creates the Telegram group: create it, add the bot as administrator and send "
        "/link {klas} there. (Or pass an existing group's id with --chat.)"
    ),
)
M_GROUP_EXISTS = Msg(
    nl="Klas {klas} heeft al een groep op {platform} (chat {chat}).",
    en="Class {klas} already has a group on {platform} (chat {chat}).",
)
M_CODE_UNKNOWN = Msg(
    nl="Deze code kennen we niet. Controleer de code in je brief of e-mail en probeer het opnieuw.",
    en="We don't know this code. Check the code in your letter or e-mail and try again.",
)
M_CODE_USED = Msg(
    nl="Deze code is al gebruikt. Vraag je mentor om een nieuwe code.",
    en="This code has already been used. Ask your mentor for a new code.",
)
M_CODE_EXPIRED = Msg(
    nl="Deze code is verlopen. Vraag je mentor om een nieuwe code.",
    en="This code has expired. Ask your mentor for a new code.",
)
M_CODE_UNDER_AGE = Msg(
    nl=(
        "Je bent nog geen 13, dus je kunt nog niet in de klassengroep. Geen zorgen: je krijgt alle "
        "berichten per e-mail of brief. Op je 13e verjaardag krijg je vanzelf een nieuwe code."
    ),
    en=(
        "You are not 13 yet, so you can't join the class group. Don't worry: you get every "
        "message by e-mail or letter. On your 13th birthday you get a new code automatically."
    ),
)
M_LINKED = Msg(
    nl="Gelukt, {name}! Je account is gekoppeld.", en="Done, {name}! Your account is linked."
)
M_ADMITTED = Msg(
    nl="Je bent toegevoegd aan de klassengroep van {klas}.",
    en="You have been added to the class group of {klas}.",
)
M_ADMIT_PENDING = Msg(
    nl="Je krijgt een uitnodiging voor de klassengroep van {klas}.",
    en="You will get an invitation to the class group of {klas}.",
)
M_PLATFORM_AGE = Msg(
    nl="Voor {platform} moet je minstens {age} zijn; je krijgt de berichten van {klas} per e-mail of brief.",
    en="{platform} requires you to be at least {age}; you get the messages of {klas} by e-mail or letter.",
)
M_NOT_LINKED = Msg(
    nl="Ik ken je nog niet. Koppel eerst je account met /start CODE (de code staat in je brief of e-mail).",
    en="I don't know you yet. Link your account first with /start CODE (the code is in your letter or e-mail).",
)
M_ANNOUNCED = Msg(
    nl="Bericht {id} voor {klas} is verstuurd: {group} in de groep, {email} per e-mail, {post} per brief, {unreachable} onbereikbaar.",
    en="Announcement {id} for {klas} is out: {group} in the group, {email} by e-mail, {post} by letter, {unreachable} unreachable.",
)
M_HELD = Msg(
    nl="Het is nu stille tijd; het bericht gaat om {time} de deur uit.",
    en="It is quiet hours now; the message goes out at {time}.",
)
M_UNREACHABLE_WARNING = Msg(
    nl="Let op: deze leerlingen zijn via geen enkel kanaal bereikbaar: {pupils}. De beheerder is ingelicht.",
    en="Note: these pupils cannot be reached through any channel: {pupils}. The admin has been told.",
)
M_GROUP_ONLY_BOT = Msg(
    nl="In deze groep plaatst alleen de bot berichten. Stuur je vraag privé aan je mentor.",
    en="Only the bot posts in this group. Send your question privately to your mentor.",
)
M_BIND_IN_GROUP = Msg(
    nl="Stuur /koppel KLAS in de groep die je wilt koppelen, niet privé.",
    en="Send /link CLASS in the group you want to bind, not privately.",
)
M_BOUND = Msg(
    nl="Deze groep is nu de klassengroep van {klas}. Alleen de bot plaatst hier berichten.",
    en="This group is now the class group of {klas}. Only the bot posts here.",
)
M_CHAT_BOUND_ELSEWHERE = Msg(
    nl="Chat {chat} is al aan een klas gekoppeld; `klasbot groups` laat zien aan welke.",
    en="Chat {chat} is already bound to a class; `klasbot groups` shows which.",
)
M_GROUP_LOST_MAIL = Msg(
    nl="De bot is uit de klassengroep van {klas} op {platform} gehaald. Tot de groep opnieuw gekoppeld is, krijgen de leerlingen de berichten per e-mail of brief.",
    en="The bot was removed from the class group of {klas} on {platform}. Until the group is bound again, pupils get the messages by e-mail or letter.",
)
M_REPORTED = Msg(
    nl="Dank je. Je melding is doorgestuurd naar de schoolleiding en bewaard in het dossier.",
    en="Thank you. Your report has been forwarded to school leadership and kept in the dossier.",
)
M_ESCALATED = Msg(
    nl="Je escalatie is doorgestuurd naar de schoolleiding (protocol B.3) en bewaard in het dossier.",
    en="Your escalation has been forwarded to school leadership (protocol B.3) and kept in the dossier.",
)
M_REPORT_STORED = Msg(
    nl=(
        "Dank je. Je melding is bewaard in het dossier; doorsturen naar de schoolleiding lukte nu "
        "niet, de beheerder ziet dat en zorgt ervoor."
    ),
    en=(
        "Thank you. Your report has been kept in the dossier; forwarding it to school leadership "
        "failed just now, the admin sees that and takes care of it."
    ),
)
M_HELP_HEADER = Msg(nl="Dit kun je hier doen:", en="This is what you can do here:")
M_NOT_AVAILABLE = Msg(
    nl="/{name} is in deze versie nog niet beschikbaar.",
    en="/{name} is not available in this version yet.",
)
M_NOT_HERE_PRIVATE = Msg(
    nl="Stuur /{name} privé aan de bot, niet in de groep.",
    en="Send /{name} to the bot privately, not in the group.",
)


@dataclass(frozen=True)
class IssuedInvite:
    person_id: str
    pupil_id: str | None
    code: str
    channel: Channel
    expires_at: datetime
    error: str | None = None


@dataclass(frozen=True)
class AnnounceResult:
    announcement: Announcement
    counts: dict[str, int]
    held_until: datetime | None
    unreachable: tuple[str, ...]


@dataclass
class Reply:
    """What the bot answers to one incoming chat message."""

    texts: list[str] = field(default_factory=list)
    delete_original: bool = False
    admitted: list[Group] = field(default_factory=list)
    announcement: AnnounceResult | None = None
    # Set when the platform asked for a preview: the checked draft, to announce on confirmation.
    draft: AnnouncementDraft | None = None
    group: Group | None = None


def _key(*parts: object) -> str:
    raw = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def new_code() -> str:
    """Ten characters from an alphabet without look-alikes (no 0/O, 1/I/L): easy to type."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Klasbot:
    def __init__(
        self,
        *,
        db: UnitOfWork,
        clock: Clock,
        policy: SchoolPolicy,
        platforms: dict[str, ChatPlatform] | None = None,
        mailer: Mailer | None = None,
        printer: LetterPrinter | None = None,
        code_factory: Callable[[], str] = new_code,
    ) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy
        self.platforms = platforms or {}
        self.mailer = mailer
        self.printer = printer
        self.code_factory = code_factory

    # ------------------------------------------------------------------------ helpers

    def today(self) -> date:
        return local_today(self.clock.now(), self.policy.timezone)

    def min_ages(self) -> dict[str, int]:
        return {name: p.capabilities.min_age for name, p in self.platforms.items()}

    async def resolve_class(self, store: Store, ref: str) -> SchoolClass:
        found = await store.find_classes(ref)
        if not found:
            raise NotFound(M_CLASS_NOT_FOUND, ref=ref)
        if len(found) > 1:
            raise Ambiguous(
                M_CLASS_AMBIGUOUS, ref=ref, candidates=", ".join(sorted(c.id for c in found))
            )
        return found[0]

    async def require_person(self, store: Store, ref: str) -> Person:
        person = await store.get_person(ref)
        if person is None:
            raise NotFound(M_PERSON_NOT_FOUND, ref=ref)
        return person

    async def audit(
        self, store: Store, event: str, actor: str | None, persons: Sequence[str], /, **details: Any
    ) -> None:
        await store.audit(AuditEvent(event, self.clock.now(), actor, tuple(persons), details))

    async def audit_refusal(
        self, error: KlasbotError, *, actor: str | None, persons: Sequence[str] = (), **details: Any
    ) -> None:
        """Rule 10: a refusal is an audit event too (in its own transaction: the request was not)."""
        async with self.db.transaction() as store:
            await self.audit(
                store,
                "refusal",
                actor if actor and await store.get_person(actor) else None,
                [p for p in persons if p],
                code=getattr(error, "code", type(error).__name__),
                rule=getattr(error, "rule", None),
                message=str(error),
                **details,
            )

    # ------------------------------------------------------------------------ roster

    async def import_roster(
        self,
        snapshot: RosterSnapshot,
        *,
        dry_run: bool = False,
        deleted: dict[str, frozenset[str]] | None = None,
    ) -> Any:
        """Sync the stored roster with `snapshot` in one transaction (all or nothing).
        `deleted` is given for a delta export (see `SqlStore.sync_roster`)."""

        class _DryRun(Exception):
            pass

        changes: Any = None
        try:
            async with self.db.transaction() as store:
                changes = await store.sync_roster(snapshot, deleted=deleted)
                if dry_run:
                    raise _DryRun
                removals: list[tuple[Group, str, str]] = []
                # Rule 2: a pupil who left a class is removed from its group(s).
                for pupil_id, class_id in changes.left_class:
                    for group in await store.groups(class_id):
                        members = await store.members(group.id)
                        if members.get(pupil_id, ("", ""))[1] == "member":
                            account_id = members[pupil_id][0]
                            await store.set_member(
                                group.id, pupil_id, account_id, "removed", self.clock.now()
                            )
                            removals.append((group, pupil_id, account_id))
                    await self.audit(store, "left-class", None, [pupil_id], class_id=class_id)
                await self.audit(
                    store,
                    "roster-import",
                    None,
                    [],
                    added={k: len(v) for k, v in changes.added.items()},
                    updated={k: len(v) for k, v in changes.updated.items()},
                    removed={k: len(v) for k, v in changes.removed.items()},
                )
        except _DryRun:
            return changes
        for group, pupil_id, account_id in removals:
            platform = self.platforms.get(group.platform)
            if platform is not None:
                await platform.remove(group.chat_id, account_id, "left-class")
        return changes

    # ------------------------------------------------------------------------ groups

    async def create_group(
        self,
        class_ref: str,
        platform_name: str,
        *,
        chat_id: str | None = None,
        actor: str | None = None,
    ) -> Group:
        if platform_name not in PLATFORMS:
            raise InvalidInput(
                M_UNKNOWN_PLATFORM, platform=platform_name, choices=", ".join(PLATFORMS)
            )
        if platform_name == "telegram" and chat_id is None:
            # A Telegram bot cannot create groups: the teacher makes one and binds it.
            raise InvalidInput(M_TELEGRAM_BIND_IN_GROUP, klas=class_ref)
        platform = self.platforms.get(platform_name)
        if platform is None and chat_id is None:
            raise InvalidInput(M_PLATFORM_NOT_CONFIGURED, platform=platform_name)
        async with self.db.transaction() as store:
            school_class = await self.resolve_class(store, class_ref)
            roster = await store.class_roster(school_class.id)
            existing = [g for g in await store.groups(school_class.id, platform_name)]
            if chat_id is not None and await store.group_by_chat(platform_name, chat_id):
                raise InvalidInput(M_CHAT_BOUND_ELSEWHERE, chat=chat_id)
            if existing and chat_id is None:
                raise InvalidInput(
                    M_GROUP_EXISTS,
                    klas=school_class.code,
                    platform=platform_name,
                    chat=existing[0].chat_id,
                )
        if chat_id is None:
            create = getattr(platform, "create_group", None)
            chat_id = await create(roster) if create else f"{platform_name}:{school_class.id}"
        async with self.db.transaction() as store:
            group = await store.add_group(
                school_class.id, platform_name, chat_id, GroupState.ACTIVE, self.clock.now()
            )
            await self.audit(
                store,
                "group-created",
                actor,
                [],
                class_id=school_class.id,
                platform=platform_name,
                chat=chat_id,
            )
        # Linked, eligible pupils and staff are let in straight away.
        await self._admit_everyone(group)
        return group

    async def report(self, person: Person, text: str, *, escalation: bool, source: str) -> bool:
        """Rule 9 (A.9, B.3): store the report in the dossier and forward it to leadership.

        Returns whether leadership was mailed. The report is stored first, whatever happens to
        the mail; a mail that could not go out is an audit event of its own, so the admin can
        find it in the audit trail and forward it by hand."""
        from bot.ports import MailMessage

        kind = "escalation" if escalation else "report"
        now = self.clock.now()
        async with self.db.transaction() as store:
            enrollments = await store.enrollments_of(person.id)
            await self.audit(store, kind, person.id, [person.id], text=text, source=source)
        to = self.policy.leadership_emails
        if not to or self.mailer is None:
            logger.warning(
                "%s by %s stored, but no leadership e-mail is configured", kind, person.id
            )
            return False
        message = MailMessage(
            to=tuple(to),
            template="report",
            context={
                "kind": kind,
                "reporter": f"{person.full_name} ({person.role.value}, {person.id})",
                "text": text,
                "created_at": now.astimezone(self.policy.timezone).strftime("%Y-%m-%d %H:%M"),
                "class_code": ", ".join(sorted({e.class_id for e in enrollments})) or None,
                "school_name": self.policy.school_name,
            },
            message_id=f"<{kind}-{_key(person.id, now.isoformat(), text)[:16]}@klasbot>",
            lang=self.policy.language,
            reply_to=self.policy.reply_to,
        )
        try:
            errors = [str(e) for e in await self.mailer.send([message]) if e is not None]
        except DeliveryError as error:
            errors = [str(error)]
        if errors:
            logger.warning("%s by %s stored, but not mailed: %s", kind, person.id, errors[0])
            async with self.db.transaction() as store:
                await self.audit(
                    store, f"{kind}-not-mailed", person.id, [person.id], error=errors[0][:500]
                )
            return False
        return True

    async def bind_group(
        self, platform_name: str, chat_id: str, class_ref: str, *, actor: Person
    ) -> Group:
        """A staff member binds an existing platform group to their class (`/koppel KLAS`)."""
        async with self.db.transaction() as store:
            school_class = await self.resolve_class(store, class_ref)
            roster = await store.class_roster(school_class.id)
        try:
            authorization.require_staff_of_class(actor, roster)
        except RuleViolation as error:
            await self.audit_refusal(error, actor=actor.id, class_ref=class_ref, command="koppel")
            raise
        async with self.db.transaction() as store:
            existing = await store.group_by_chat(platform_name, chat_id)
            if existing is not None:
                if existing.class_id != school_class.id:
                    raise InvalidInput(M_CHAT_BOUND_ELSEWHERE, chat=chat_id)
                await store.update_group(existing.id, state=GroupState.ACTIVE)
                group = Group(
                    existing.id,
                    existing.class_id,
                    existing.platform,
                    existing.chat_id,
                    GroupState.ACTIVE,
                )
            else:
                group = await store.add_group(
                    school_class.id, platform_name, chat_id, GroupState.ACTIVE, self.clock.now()
                )
            await self.audit(
                store,
                "group-bound",
                actor.id,
                [actor.id],
                class_id=school_class.id,
                platform=platform_name,
                chat=chat_id,
            )
        await self._admit_everyone(group)
        return group

    async def group_lost(
        self, platform_name: str, chat_id: str
    ) -> tuple[Group, ClassRoster] | None:
        """The bot was removed from a group: its pupils fall back to e-mail or letter until the
        group is bound again. Returns the group and roster so the caller can tell the staff."""
        async with self.db.transaction() as store:
            group = await store.group_by_chat(platform_name, chat_id)
            if group is None:
                return None
            await store.update_group(group.id, state=GroupState.LOST)
            roster = await store.class_roster(group.class_id)
            await self.audit(
                store,
                "group-lost",
                None,
                [s.id for s in roster.staff],
                group=group.id,
                platform=platform_name,
            )
        await self._notify_staff_group_lost(group, roster)
        return group, roster

    async def _notify_staff_group_lost(self, group: Group, roster: ClassRoster) -> None:
        from bot.ports import MailMessage

        to = tuple(
            a for a in (*(s.email for s in roster.staff), *self.policy.leadership_emails) if a
        )
        if not to or self.mailer is None:
            return
        message = MailMessage(
            to=to,
            template="report",
            context={
                "kind": "notice",
                "reporter": "klasbot",
                "text": M_GROUP_LOST_MAIL(
                    self.policy.language, klas=roster.school_class.code, platform=group.platform
                ),
                "created_at": self.clock.now()
                .astimezone(self.policy.timezone)
                .strftime("%Y-%m-%d %H:%M"),
                "school_name": self.policy.school_name,
            },
            message_id=f"<group-lost-{group.id}-{_key(self.clock.now())[:8]}@klasbot>",
            lang=self.policy.language,
            reply_to=self.policy.reply_to,
        )
        try:
            for error in await self.mailer.send([message]):
                if error is not None:
                    logger.warning(
                        "could not tell staff that group %s was lost: %s", group.id, error
                    )
        except Exception as exc:  # the state change stands; the log and the audit say it
            logger.warning("could not tell staff that group %s was lost: %s", group.id, exc)

    async def chat_migrated(
        self, platform_name: str, old_chat_id: str, new_chat_id: str
    ) -> Group | None:
        """The platform moved the group to a new id (a Telegram group became a supergroup)."""
        async with self.db.transaction() as store:
            group = await store.group_by_chat(platform_name, old_chat_id)
            if group is None:
                return None
            await store.update_group(group.id, chat_id=new_chat_id)
            await self.audit(
                store, "chat-migrated", None, [], group=group.id, old=old_chat_id, new=new_chat_id
            )
            return Group(group.id, group.class_id, group.platform, new_chat_id, group.state)

    async def _admit_everyone(self, group: Group) -> None:
        async with self.db.transaction() as store:
            roster = await store.class_roster(group.class_id)
            people = [*roster.pupils, *roster.staff]
            accounts = {p.id: await store.accounts_of(p.id) for p in people}
        for person in people:
            for account in accounts[person.id]:
                if account.platform == group.platform:
                    await self.admit_to_group(group, person, account.account_id)

    async def admit_to_group(self, group: Group, person: Person, account_id: str) -> Verdict:
        """Rules 1 and 2: let a person in when they may be in; record what happened."""
        platform = self.platforms.get(group.platform)
        min_age = platform.capabilities.min_age if platform else 13
        async with self.db.transaction() as store:
            roster = await store.class_roster(group.class_id)
            verdict = admission(person, roster, self.today(), min_age).verdict
        if verdict not in (Verdict.PUPIL, Verdict.STAFF):
            async with self.db.transaction() as store:
                await self.audit(
                    store,
                    "admission-refused",
                    None,
                    [person.id],
                    group=group.id,
                    verdict=verdict.value,
                )
            return verdict
        # Without the platform in this process the running bot admits them; until then: invited.
        try:
            joined = await platform.admit(group.chat_id, account_id) if platform else False
        except DeliveryError as error:
            # The platform could not invite them now; they stay "invited" and may send their
            # code again, which admits them without spending a new one.
            logger.warning("could not admit %s to group %s: %s", person.id, group.id, error)
            joined = False
        async with self.db.transaction() as store:
            await store.set_member(
                group.id, person.id, account_id, "member" if joined else "invited", self.clock.now()
            )
            await self.audit(
                store,
                "member-admitted" if joined else "member-invited",
                None,
                [person.id],
                group=group.id,
            )
        return verdict

    # ------------------------------------------------------------------------ queries for adapters

    async def platform_state(self, platform_name: str, key: str) -> str | None:
        """Small state a platform keeps across restarts (a sync token, an invite link)."""
        async with self.db.transaction() as store:
            value: str | None = await store.get_state(platform_name, key)
            return value or None

    async def set_platform_state(self, platform_name: str, key: str, value: str) -> None:
        async with self.db.transaction() as store:
            await store.set_state(platform_name, key, value)

    async def is_class_group(self, platform_name: str, chat_id: str) -> bool:
        async with self.db.transaction() as store:
            return await store.group_by_chat(platform_name, chat_id) is not None

    async def is_staff_account(self, platform_name: str, account_id: str) -> bool:
        """Is this account linked to someone who teaches a class (and so may announce)?"""
        async with self.db.transaction() as store:
            person = await store.person_by_account(platform_name, account_id)
            return person is not None and any(
                e.role.value == "teacher" for e in await store.enrollments_of(person.id)
            )

    async def is_staff_of_group(self, platform_name: str, chat_id: str, account_id: str) -> bool:
        async with self.db.transaction() as store:
            group = await store.group_by_chat(platform_name, chat_id)
            person = await store.person_by_account(platform_name, account_id)
            if group is None or person is None:
                return False
            roster = await store.class_roster(group.class_id)
        return authorization.is_staff_of_class(person.id, roster)

    async def staff_accounts(self, platform_name: str) -> set[str]:
        """The platform accounts of everyone who teaches a class."""
        accounts: set[str] = set()
        async with self.db.transaction() as store:
            for school_class, *_ in await store.list_classes():
                roster = await store.class_roster(school_class.id)
                for person in roster.staff:
                    accounts.update(
                        a.account_id
                        for a in await store.accounts_of(person.id)
                        if a.platform == platform_name
                    )
        return accounts

    async def _join_verdict(
        self, platform_name: str, chat_id: str, account_id: str
    ) -> tuple[Group, Person | None, Verdict] | None:
        """Rules 1 and 2 for an account in (or asking into) a chat; None for no class group."""
        async with self.db.transaction() as store:
            group = await store.group_by_chat(platform_name, chat_id)
            if group is None:
                return None
            person = await store.person_by_account(platform_name, account_id)
            roster = await store.class_roster(group.class_id)
        platform = self.platforms.get(platform_name)
        min_age = platform.capabilities.min_age if platform else 13
        return group, person, admission(person, roster, self.today(), min_age).verdict

    async def member_joined(self, platform_name: str, chat_id: str, account_id: str) -> bool:
        """A platform reports someone in a bound group. Returns False (and removes them, rule 2)
        when they may not be there."""
        found = await self._join_verdict(platform_name, chat_id, account_id)
        if found is None:
            return True
        group, person, verdict = found
        platform = self.platforms.get(platform_name)
        async with self.db.transaction() as store:
            if verdict in (Verdict.PUPIL, Verdict.STAFF):
                assert person is not None
                await store.set_member(group.id, person.id, account_id, "member", self.clock.now())
                await self.audit(store, "member-joined", None, [person.id], group=group.id)
                return True
            if person is not None:
                await store.set_member(group.id, person.id, account_id, "removed", self.clock.now())
            await self.audit(
                store,
                "member-removed",
                None,
                [person.id] if person else [],
                group=group.id,
                account=account_id if person is None else None,
                verdict=verdict.value,
            )
        if platform is not None:
            await platform.remove(chat_id, account_id, verdict.value)
        return False

    async def join_requested(
        self, platform_name: str, chat_id: str, account_id: str
    ) -> bool | None:
        """Someone asks to join a bound group (a Telegram join request). True when rules 1 and 2
        let them in; False (audited, rule 10) when not; None when the chat is no class group.
        Nothing else changes: membership is recorded when the platform reports the join
        (`member_joined`)."""
        found = await self._join_verdict(platform_name, chat_id, account_id)
        if found is None:
            return None
        group, person, verdict = found
        if verdict in (Verdict.PUPIL, Verdict.STAFF):
            return True
        async with self.db.transaction() as store:
            await self.audit(
                store,
                "join-declined",
                None,
                [person.id] if person else [],
                group=group.id,
                account=account_id if person is None else None,
                verdict=verdict.value,
            )
        return False

    async def member_left(self, platform_name: str, chat_id: str, account_id: str) -> None:
        async with self.db.transaction() as store:
            group = await store.group_by_chat(platform_name, chat_id)
            person = await store.person_by_account(platform_name, account_id)
            if group is None or person is None:
                return
            members = await store.members(group.id)
            if members.get(person.id, ("", ""))[1] == "member":
                await store.set_member(group.id, person.id, account_id, "left", self.clock.now())
                await self.audit(store, "member-left", None, [person.id], group=group.id)

    # ------------------------------------------------------------------------ invites and linking

    async def create_invites(
        self,
        *,
        class_ref: str | None = None,
        person_ref: str | None = None,
        with_staff: bool = False,
        actor: str | None = None,
    ) -> list[IssuedInvite]:
        now = self.clock.now()
        today = self.today()
        expires = now + timedelta(days=self.policy.invite_valid_days)
        plan: list[
            tuple[Person, Person | None, list[Person], str]
        ] = []  # (addressee person, pupil, guardians, class code)
        async with self.db.transaction() as store:
            if person_ref is not None:
                person = await self.require_person(store, person_ref)
                guardians = list((await store.persons(person.guardian_ids)).values())
                if person.role == Role.PUPIL and not is_old_enough(person.birth_date, today):
                    return []
                plan.append((person, person if person.role == Role.PUPIL else None, guardians, ""))
            else:
                assert class_ref is not None
                school_class = await self.resolve_class(store, class_ref)
                roster = await store.class_roster(school_class.id)
                for member in roster.pupils:
                    # Pupils under 13 get no code; the scheduler sends one on their birthday.
                    if is_old_enough(member.birth_date, today):
                        guardians = [
                            roster.guardians[g]
                            for g in member.guardian_ids
                            if g in roster.guardians
                        ]
                        plan.append((member, member, guardians, school_class.code))
                if with_staff:
                    for staff in roster.staff:
                        plan.append((staff, None, [], school_class.code))
            issued = []
            for addressee, pupil, guardians, klas in plan:
                code = self.code_factory()
                await store.add_invite(Invite(code, addressee.id, now, expires))
                if pupil is not None:
                    # A pupil's code goes where their announcements would go (rule 6).
                    route = fallback(
                        pupil,
                        Reason.NOT_LINKED,
                        today=today,
                        guardians=guardians,
                        pupil_email_from_age=self.policy.pupil_email_from_age,
                    )
                else:
                    # Staff and guardians get their own code themselves.
                    route = fallback(
                        addressee,
                        Reason.NOT_LINKED,
                        today=today,
                        guardians=[],
                        pupil_email_from_age=None,
                    )
                    if addressee.email and addressee.preference == ContactPreference.DEFAULT:
                        route = Route(
                            addressee.id,
                            Channel.EMAIL,
                            Reason.NOT_LINKED,
                            (Recipient(addressee.id, addressee.full_name, email=addressee.email),),
                        )
                issued.append((addressee, pupil, code, route, klas))
            await self.audit(
                store, "invites-created", actor, [p.id for p, *_ in plan], count=len(plan)
            )
        results = []
        for person, pupil, code, route, klas in issued:
            error = await self._send_invite(person, pupil, code, route, klas, expires)
            results.append(
                IssuedInvite(
                    person.id, pupil.id if pupil else None, code, route.channel, expires, error
                )
            )
        return results

    async def _send_invite(
        self,
        person: Person,
        pupil: Person | None,
        code: str,
        route: Any,
        klas: str,
        expires: datetime,
    ) -> str | None:
        from bot.ports import Letter, LetterItem, MailMessage

        lang = self.policy.language
        expires_on = expires.astimezone(self.policy.timezone).date().isoformat()
        try:
            if route.channel == Channel.EMAIL and self.mailer is not None:
                messages = [
                    MailMessage(
                        to=(r.email,),
                        template="invite",
                        context={
                            "pupil_name": person.given_name if pupil is not None else None,
                            "audience": (
                                "person"
                                if pupil is None
                                else "pupil"
                                if r.person_id == person.id
                                else "guardian"
                            ),
                            "recipient_name": r.name,
                            "code": code,
                            "expires_on": expires_on,
                            "class_code": klas,
                            "school_name": self.policy.school_name,
                        },
                        message_id=f"<invite-{_key(code, r.email)}@klasbot>",
                        lang=lang,
                        reply_to=self.policy.reply_to,
                    )
                    for r in route.recipients
                ]
                results = await self.mailer.send(messages)
                errors = [str(e) for e in results if e is not None]
                return "; ".join(errors) or None
            if route.channel == Channel.POST and self.printer is not None:
                for r in route.recipients:
                    self.printer.render(
                        Letter(
                            key=f"invite-{code}-{_key(r.person_id)[:8]}",
                            recipient_name=r.name,
                            address=r.address,
                            items=(
                                LetterItem(
                                    pupil_name=person.full_name,
                                    title=Msg(
                                        nl="Je persoonlijke code voor de klassengroep",
                                        en="Your personal code for the class group",
                                    )(lang),
                                    body=Msg(
                                        nl="Stuur de bot het bericht /start {code} om je account te koppelen. De code is geldig tot {expires}.",
                                        en="Send the bot the message /start {code} to link your account. The code is valid until {expires}.",
                                    )(lang, code=code, expires=expires_on),
                                    signature=self.policy.school_name,
                                ),
                            ),
                            date_text=self.today().isoformat(),
                        )
                    )
                return None
            if route.channel == Channel.UNREACHABLE:
                return "unreachable: no e-mail address and no postal address"
        except Exception as exc:  # reported per code; the code itself is stored and valid
            logger.warning("invite for %s not sent: %s", person.id, exc)
            return str(exc)
        return None

    async def link_account(self, platform_name: str, account_id: str, code: str) -> Reply:
        lang = self.policy.language
        now = self.clock.now()
        async with self.db.transaction() as store:
            invite = await store.invite(code.strip().upper())
            if invite is None:
                return Reply([M_CODE_UNKNOWN(lang)])
            relink = False
            if invite.used_at is not None:
                linked = await store.person_by_account(platform_name, account_id)
                if linked is None or linked.id != invite.person_id:
                    return Reply([M_CODE_USED(lang)])
                # The same account sends its code again (say, after an invite that failed):
                # let it into its groups again instead of refusing.
                relink = True
            elif invite.expires_at <= now:
                return Reply([M_CODE_EXPIRED(lang)])
            person = await store.get_person(invite.person_id)
            if person is None:
                return Reply([M_CODE_UNKNOWN(lang)])
            if person.role == Role.PUPIL and not is_old_enough(person.birth_date, self.today()):
                await self.audit(
                    store,
                    "link-refused",
                    None,
                    [person.id],
                    platform=platform_name,
                    reason="under-13",
                )
                return Reply([M_CODE_UNDER_AGE(lang)])
            if not relink:
                if not await store.use_invite(invite.code, now):
                    return Reply([M_CODE_USED(lang)])
                await store.link_account(platform_name, account_id, person.id, now)
                await self.audit(
                    store, "account-linked", person.id, [person.id], platform=platform_name
                )
            enrollments = await store.enrollments_of(person.id)
            groups = [g for e in enrollments for g in await store.groups(e.class_id, platform_name)]
            codes = {g.id: (await store.class_roster(g.class_id)).school_class.code for g in groups}
        reply = Reply([M_LINKED(lang, name=person.given_name)])
        for group in groups:
            if group.state != GroupState.ACTIVE:
                continue
            verdict = await self.admit_to_group(group, person, account_id)
            klas = codes[group.id]
            if verdict in (Verdict.PUPIL, Verdict.STAFF):
                async with self.db.transaction() as store:
                    state = (await store.members(group.id)).get(person.id, ("", ""))[1]
                if state == "member":
                    reply.texts.append(M_ADMITTED(lang, klas=klas))
                    reply.admitted.append(group)
                else:
                    reply.texts.append(M_ADMIT_PENDING(lang, klas=klas))
            elif verdict == Verdict.PLATFORM_AGE:
                platform = self.platforms.get(platform_name)
                reply.texts.append(
                    M_PLATFORM_AGE(
                        lang,
                        platform=platform_name,
                        age=platform.capabilities.min_age if platform else 13,
                        klas=klas,
                    )
                )
            elif verdict in (Verdict.UNDER_13, Verdict.AGE_UNKNOWN):
                reply.texts.append(M_CODE_UNDER_AGE(lang))
        return reply

    # ------------------------------------------------------------------------ announcements

    async def check_announcement(
        self, store: Store, draft: AnnouncementDraft, lang: str
    ) -> tuple[ClassRoster, Person, str, str]:
        """Rules 7, 4 and 5 in that order; returns (roster, author, body, signature) or raises."""
        school_class = await self.resolve_class(store, draft.class_id)
        roster = await store.class_roster(school_class.id)
        author = await store.get_person(draft.author_id)
        authorization.require_staff_of_class(author, roster)
        assert author is not None
        kinds.validate_draft(draft, self.policy.allowed_kinds)
        free_text = "\n".join(t for t in (draft.subject, draft.text) if t)
        content.check_content(free_text, roster.pupils)
        body = kinds.render_body(
            draft.kind,
            class_code=school_class.code,
            date=draft.date,
            period=draft.period,
            subject=draft.subject,
            text=draft.text,
            lang=lang,
        )
        return roster, author, body, signature.signature(author, roster, lang)

    async def preview(self, draft: AnnouncementDraft, *, source: str = "cli") -> str:
        """The signed text as the group will see it, after every rule; stores nothing but a
        refusal (rule 10)."""
        lang = self.policy.language
        try:
            async with self.db.transaction() as store:
                _, _, body, sig = await self.check_announcement(store, draft, lang)
        except KlasbotError as error:
            await self._audit_draft_refusal(error, draft, source)
            raise
        return f"{body}\n\n{sig}"

    async def _audit_draft_refusal(
        self, error: KlasbotError, draft: AnnouncementDraft, source: str
    ) -> None:
        await self.audit_refusal(
            error, actor=draft.author_id, class_ref=draft.class_id, kind=draft.kind, source=source
        )

    async def announce(self, draft: AnnouncementDraft, *, source: str = "cli") -> AnnounceResult:
        """Check the rules, store the announcement and one delivery per pupil, in one transaction."""
        lang = self.policy.language
        now = self.clock.now()
        try:
            async with self.db.transaction() as store:
                roster, author, body, sig = await self.check_announcement(store, draft, lang)
                announcement = Announcement(
                    id=0,
                    class_id=roster.school_class.id,
                    kind=draft.kind,
                    author_id=author.id,
                    created_at=now,
                    body=body,
                    signature=sig,
                    date=draft.date,
                    period=draft.period,
                    subject=draft.subject,
                    text=draft.text,
                    not_before=draft.not_before,
                )
                announcement_id = await store.add_announcement(announcement)
                announcement = Announcement(**{**_fields(announcement), "id": announcement_id})
                views = await store.group_views(roster.school_class.id, self.min_ages())
                routes = route_class(
                    roster.pupils,
                    today=self.today(),
                    groups=views,
                    guardians=roster.guardians,
                    pupil_email_from_age=self.policy.pupil_email_from_age,
                )
                due = max(now, draft.not_before) if draft.not_before else now
                held_until = (
                    self.policy.quiet_hours.release_at(due, self.policy.timezone, draft.kind)
                    if self.policy.quiet_hours
                    else None
                )
                status = DeliveryStatus.HELD if held_until else DeliveryStatus.PENDING
                # "Now" is due at once for any dispatcher, whatever its clock says (two processes
                # started with the same KLASBOT_NOW disagree by the time each has run).
                due_at = held_until or (
                    draft.not_before if draft.not_before and draft.not_before > now else DUE_AT_ONCE
                )
                await store.add_deliveries(
                    announcement_id,
                    [(route, _key(announcement_id, route.pupil_id)) for route in routes],
                    due_at=due_at,
                    status=status,
                )
                counts = {c.value: 0 for c in Channel}
                for route in routes:
                    counts[route.channel.value] += 1
                unreachable = tuple(r.pupil_id for r in routes if r.channel == Channel.UNREACHABLE)
                await self.audit(
                    store,
                    "announcement",
                    author.id,
                    [r.pupil_id for r in routes],
                    announcement=announcement_id,
                    class_id=roster.school_class.id,
                    kind=draft.kind,
                    source=source,
                    channels=counts,
                )
                await store.audit_many(
                    [
                        AuditEvent(
                            "fallback-delivery"
                            if route.channel != Channel.UNREACHABLE
                            else "unreachable",
                            now,
                            author.id,
                            (route.pupil_id, *(r.person_id for r in route.recipients)),
                            {
                                "announcement": announcement_id,
                                "channel": route.channel.value,
                                "reason": route.reason.value if route.reason else None,
                            },
                        )
                        for route in routes
                        if route.channel != Channel.GROUP
                    ]
                )
        except KlasbotError as error:
            await self._audit_draft_refusal(error, draft, source)
            raise
        result = AnnounceResult(announcement, counts, held_until, unreachable)
        if unreachable:
            await self._report_unreachable(result, author)
        return result

    async def _report_unreachable(self, result: AnnounceResult, author: Person) -> None:
        """Rule 6: an unreachable pupil is reported to the author and the admin (leadership)."""
        from bot.ports import MailMessage

        if self.mailer is None:
            return
        async with self.db.transaction() as store:
            pupils = await store.persons(result.unreachable)
            found = await store.find_classes(result.announcement.class_id)
        to = tuple(a for a in (author.email, *self.policy.leadership_emails) if a)
        if not to:
            return
        message = MailMessage(
            to=to,
            template="unreachable",
            context={
                "announcement_id": result.announcement.id,
                "class_code": found[0].code if found else result.announcement.class_id,
                "summary": result.announcement.body,
                "pupils": [pupils[p].full_name if p in pupils else p for p in result.unreachable],
                "school_name": self.policy.school_name,
            },
            message_id=f"<unreachable-{result.announcement.id}@klasbot>",
            lang=self.policy.language,
            reply_to=self.policy.reply_to,
        )
        try:
            errors = await self.mailer.send([message])
        except Exception as exc:  # the announcement stands; the warning is also in the CLI output
            logger.warning("could not report unreachable pupils: %s", exc)
            return
        for error in errors:
            if error is not None:
                logger.warning("could not report unreachable pupils: %s", error)

    async def announcements(self, class_ref: str | None = None) -> list[Announcement]:
        async with self.db.transaction() as store:
            class_id = (await self.resolve_class(store, class_ref)).id if class_ref else None
            return await store.announcements(class_id)

    async def deliveries(self, announcement_id: int) -> list[Any]:
        async with self.db.transaction() as store:
            if await store.announcement(announcement_id) is None:
                raise NotFound(M_ANNOUNCEMENT_NOT_FOUND, ref=announcement_id)
            return await store.deliveries(announcement_id)


class ChatFrontEnd:
    """Turns one incoming chat message into use cases and replies; the same on every platform."""

    def __init__(self, app: Klasbot) -> None:
        self.app = app

    async def handle(
        self,
        platform: str,
        account_id: str,
        text: str,
        *,
        chat_id: str | None = None,
        in_group: bool = False,
        preview: bool = False,
    ) -> Reply:
        """Answer one message. With `preview=True` an announcement is checked against every rule
        and returned as `Reply.draft` with its preview text instead of being sent; the platform
        asks for confirmation and then calls `confirm(draft)`."""
        app = self.app
        now = app.clock.now()
        lang = app.policy.language
        if in_group and chat_id is not None:
            bound = await self._group(platform, chat_id)
            if bound is not None:
                return await self._group_message(platform, account_id, text, bound, now, preview)
        try:
            command = cmd.parse_command(text, today=app.today(), now=now, tz=app.policy.timezone)
        except InvalidInput as error:
            return Reply([error.render(cmd.command_language(text) if text else lang)])
        if command is None:
            return Reply([])
        lang = cmd.command_language(text) or lang
        try:
            return await self._command(
                platform, account_id, command, lang, chat_id=chat_id, preview=preview
            )
        except KlasbotError as error:
            return Reply([error.render(lang)])

    async def confirm(
        self, draft: AnnouncementDraft, *, source: str, lang: str | None = None
    ) -> Reply:
        """Send an announcement the author confirmed after a preview (the rules run again:
        the roster may have changed in between)."""
        lang = lang or self.app.policy.language
        try:
            result = await self.app.announce(draft, source=source)
        except KlasbotError as error:
            return Reply([error.render(lang)])
        return self._announced(result, draft.class_id, lang)

    def _announced(self, result: AnnounceResult, class_ref: str, lang: str) -> Reply:
        app = self.app
        texts = [
            M_ANNOUNCED(
                lang,
                id=result.announcement.id,
                klas=class_ref,
                **{k: v for k, v in result.counts.items()},
            )
        ]
        if result.held_until:
            local = result.held_until.astimezone(app.policy.timezone)
            texts.append(M_HELD(lang, time=local.strftime("%Y-%m-%d %H:%M")))
        if result.unreachable:
            texts.append(M_UNREACHABLE_WARNING(lang, pupils=", ".join(result.unreachable)))
        return Reply(texts, announcement=result)

    async def _group(self, platform: str, chat_id: str) -> Group | None:
        async with self.app.db.transaction() as store:
            return await store.group_by_chat(platform, chat_id)

    async def _group_message(
        self, platform: str, account_id: str, text: str, group: Group, now: datetime, preview: bool
    ) -> Reply:
        """Rule 3: only the bot posts. A staff command is deleted and re-posted by the bot; any
        other message is deleted."""
        async with self.app.db.transaction() as store:
            person = await store.person_by_account(platform, account_id)
            roster = await store.class_roster(group.class_id)
        is_staff = person is not None and authorization.is_staff_of_class(person.id, roster)
        if is_staff:
            try:
                command = cmd.parse_command(
                    text, today=self.app.today(), now=now, tz=self.app.policy.timezone
                )
            except InvalidInput as error:
                return Reply([error.render(cmd.command_language(text))], delete_original=True)
            if command is not None:
                lang = cmd.command_language(text)
                try:
                    reply = await self._command(
                        platform, account_id, command, lang, chat_id=group.chat_id, preview=preview
                    )
                except KlasbotError as error:
                    reply = Reply([error.render(lang)])
                reply.delete_original = True
                return reply
        async with self.app.db.transaction() as store:
            await self.app.audit(
                store,
                "member-post-deleted",
                person.id if person else None,
                [person.id] if person else [],
                group=group.id,
                account=None if person else account_id,
            )
        return Reply([], delete_original=True)

    async def _command(
        self,
        platform: str,
        account_id: str,
        command: Any,
        lang: str,
        *,
        chat_id: str | None,
        preview: bool = False,
    ) -> Reply:
        app = self.app
        if isinstance(command, cmd.Start):
            return await app.link_account(platform, account_id, command.code)
        async with app.db.transaction() as store:
            person = await store.person_by_account(platform, account_id)
            staff_anywhere = person is not None and any(
                e.role.value == "teacher" for e in await store.enrollments_of(person.id)
            )
        if isinstance(command, cmd.Help):
            return Reply([self.help_text(person, staff_anywhere, lang)])
        allowed = authorization.allowed_commands(person, staff_anywhere)
        if command.name not in allowed:
            if person is None:
                return Reply([M_NOT_LINKED(lang)])
            error = RuleViolation(
                Msg(
                    nl="Alleen docenten mogen /{name} gebruiken. Jij kunt: {allowed}.",
                    en="Only teachers may use /{name}. You can use: {allowed}.",
                ),
                rule="B.1",
                code="not-staff",
                name=command.name,
                allowed=", ".join(f"/{c}" for c in sorted(allowed)),
            )
            await app.audit_refusal(
                error, actor=person.id, persons=[person.id], command=command.name
            )
            return Reply([error.render(lang)])
        assert person is not None
        if isinstance(command, cmd.Report | cmd.Escalate):
            escalation = isinstance(command, cmd.Escalate)
            mailed = await app.report(person, command.text, escalation=escalation, source=platform)
            confirmation = (M_ESCALATED if escalation else M_REPORTED)(lang)
            return Reply([confirmation if mailed else M_REPORT_STORED(lang)])
        if isinstance(command, cmd.Bind):
            if chat_id is None:
                return Reply([M_BIND_IN_GROUP(lang)])
            group = await app.bind_group(platform, chat_id, command.class_ref, actor=person)
            return Reply([M_BOUND(lang, klas=command.class_ref)], group=group)
        draft = self._draft(command, person.id)
        if draft is not None:
            if preview:
                return Reply([await app.preview(draft, source=platform)], draft=draft)
            result = await app.announce(draft, source=platform)
            reply = self._announced(result, command.class_ref, lang)
            reply.texts.insert(0, f"{result.announcement.body}\n\n{result.announcement.signature}")
            return reply
        return Reply([M_NOT_AVAILABLE(lang, name=command.name)])

    @staticmethod
    def _draft(command: Any, author_id: str) -> AnnouncementDraft | None:
        if isinstance(command, cmd.LessonCancelled):
            return AnnouncementDraft(
                command.class_ref,
                author_id,
                "lesson-cancelled",
                date=command.date,
                period=command.period,
                subject=command.subject,
                text=command.text,
            )
        if isinstance(command, cmd.Homework):
            return AnnouncementDraft(
                command.class_ref,
                author_id,
                "homework",
                date=command.date,
                subject=command.subject,
                text=command.text,
            )
        if isinstance(command, cmd.Trip):
            return AnnouncementDraft(
                command.class_ref, author_id, "trip", date=command.date, text=command.text
            )
        if isinstance(command, cmd.Reminder) and (
            command.when is None or not command.when.recurring
        ):
            at = command.when.at if command.when is not None else None
            return AnnouncementDraft(
                command.class_ref, author_id, "reminder", text=command.text, not_before=at
            )
        return None

    def help_text(self, person: Person | None, staff_anywhere: bool, lang: str) -> str:
        allowed = authorization.allowed_commands(person, staff_anywhere)
        lines = [M_HELP_HEADER(lang)]
        for name, command_class in cmd.COMMANDS.items():
            if name in allowed:
                lines.append(f"  {command_class.syntax(lang)} — {command_class.summary(lang)}")
        return "\n".join(lines)


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}

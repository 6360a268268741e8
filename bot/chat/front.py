"""One incoming chat message → the use cases → one reply; the same on every platform.

Announcements sent from a chat are previewed first: the checked draft is kept in the database
(so a confirmation still works after a restart) under a token, and `confirm` sends it once.

Every reply speaks the sender's language (`bot.languages`: their `/taal` choice or the roster's,
else the school's); the words of a command never change it. A message that is no command gets a
short help; no reply sends anyone to the command line."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from bot import commands as cmd
from bot.chat import announce_replies as replies
from bot.chat import help as chat_help
from bot.chat import schedule_replies
from bot.chat.drafts import (
    ScheduleDraft,
    draft_for,
    draft_from_json,
    draft_to_json,
    schedule_draft_for,
)
from bot.chat.events import PlatformEvents
from bot.chat.texts import M_LANGUAGE_IS, M_LANGUAGE_SET, error_text, undo_text
from bot.domain import Group, Kind, Person
from bot.errors import InvalidInput, KlasbotError, RuleViolation
from bot.i18n import Localized, available_languages
from bot.languages import choices, language_name, person_language
from bot.messages import (
    M_BIND_IN_GROUP,
    M_BOUND,
    M_CANCELLED,
    M_ESCALATED,
    M_ESCALATION_KEPT,
    M_NOT_LINKED,
    M_NOT_STAFF,
    M_NOT_YOUR_PREVIEW,
    M_NOTHING_TO_CONFIRM,
    M_PREVIEW_EXPIRED,
    M_REPORT_KEPT,
    M_REPORTED,
)
from bot.ports import Reply
from bot.repositories import Repositories
from bot.rules import authorization
from bot.usecases import (
    announcing,
    groups,
    linking,
    preferences,
    reports,
    scheduling,
    throttling,
    undo,
)
from bot.usecases.announcing import AnnounceResult
from bot.usecases.context import Context, resolve_class
from bot.usecases.queries import person_and_staff
from bot.when import parse_when


class ChatFrontEnd(PlatformEvents):
    """Messages in, replies out. `handle` and `confirm`/`cancel` are all a platform needs for
    chat; `bot.chat.events.PlatformEvents` takes what a platform observes in its groups."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def language(self) -> str:
        """The school's language (for whoever klasbot does not know)."""
        return self.ctx.policy.language

    def _language(self, person: Person | None) -> str:
        return person_language(person, self.ctx.policy.language)

    async def language_of(self, platform: str, account_id: str) -> str:
        """The language to speak with the person linked to this account (the school's for an
        account linked to nobody). Adapters use it for their own texts (buttons, notes)."""
        async with self.ctx.db.transaction() as tx:
            person = await tx.accounts.person_of(platform, account_id)
        return self._language(person)

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
        """Answer one message. With `preview=True` an announcement is checked against every
        rule and kept as a draft; the reply holds its preview and `confirmation`, the token to
        pass to `confirm` or `cancel`. A message that is no command gets a short help in a
        private chat, nothing in a group."""
        ctx = self.ctx
        if in_group and chat_id is not None:
            async with ctx.db.transaction() as tx:
                bound = await tx.groups.by_chat(platform, chat_id)
            if bound is not None:
                return await self._group_message(platform, account_id, text, bound, preview)
        async with ctx.db.transaction() as tx:
            person, staff_anywhere = await person_and_staff(tx, platform, account_id)
        lang = self._language(person)
        try:
            command = self._parse(text)
        except InvalidInput as error:
            answer = _not_parsed(error, person, staff_anywhere, lang)
            if person is None:
                async with ctx.db.transaction() as tx:
                    # A malformed or unknown command from a stranger counts like any other.
                    word = text.split()[0].split("@")[0].lstrip("/!")[:40] if text.split() else ""
                    stranger = await self._stranger(
                        tx, platform, account_id, word, lang, refusal=answer
                    )
                    if stranger is not None:
                        return stranger
            return Reply([answer])
        if command is None:
            if in_group or not text.strip():
                return Reply([])
            return Reply([chat_help.not_understood(person, staff_anywhere, lang)])
        try:
            return await self._command(
                platform, account_id, command, lang, chat_id=chat_id, preview=preview
            )
        except KlasbotError as error:
            return Reply([error_text(error, lang)])

    async def confirm(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        """Send the draft previewed under `token` (or the account's latest), once. The rules run
        again: the roster may have changed in between. A refusal (nothing to confirm) speaks the
        person's language, the announcement's reply the language of its preview; `lang` (the
        language of a confirmation word) is not used: a word never changes the language."""
        found = await self._take_draft(platform, account_id, token)
        if isinstance(found, Reply):
            return found
        draft, lang = found
        if isinstance(draft, ScheduleDraft):
            return await self._schedule(platform, account_id, draft, lang)
        return await self._send(platform, account_id, draft, lang, draft.class_id)

    async def cancel(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        found = await self._take_draft(platform, account_id, token)
        if isinstance(found, Reply):
            return found
        return Reply([M_CANCELLED(found[1])])

    def help_text(self, person: Person | None, staff_anywhere: bool, lang: str) -> str:
        """`/help`: what this person may do here (`bot.chat.help`)."""
        return chat_help.overview(person, staff_anywhere, lang)

    # ------------------------------------------------------------------------ drafts

    async def _keep_draft(self, platform: str, account_id: str, draft: Any, lang: str) -> str:
        token = secrets.token_urlsafe(9)
        value = json.dumps({"draft": draft_to_json(draft), "account": account_id, "lang": lang})
        async with self.ctx.db.transaction() as tx:
            await tx.state.set(platform, f"draft:{token}", value)
            await tx.state.set(platform, f"pending:{account_id}", token)
        return token

    async def _take_draft(
        self, platform: str, account_id: str, token: str | None
    ) -> tuple[Any, str] | Reply:
        lang = await self.language_of(platform, account_id)
        async with self.ctx.db.transaction() as tx:
            asked = token
            token = token or await tx.state.get(platform, f"pending:{account_id}") or ""
            raw = await tx.state.get(platform, f"draft:{token}") if token else None
            if not raw:
                refusal = M_PREVIEW_EXPIRED if asked else M_NOTHING_TO_CONFIRM
                return Reply([refusal(lang)], refused=True)
            stored = json.loads(raw)
            if stored["account"] != account_id:
                return Reply([M_NOT_YOUR_PREVIEW(stored["lang"])], refused=True)
            # One confirmation only: a second press finds nothing.
            await tx.state.set(platform, f"draft:{token}", "")
            await tx.state.set(platform, f"pending:{account_id}", "")
        return draft_from_json(stored["draft"]), str(stored["lang"])

    # ------------------------------------------------------------------------ commands

    def _parse(self, text: str) -> Any:
        ctx = self.ctx
        command = cmd.parse_command(
            text, today=ctx.today(), now=ctx.clock.now(), tz=ctx.policy.timezone
        )
        if command is not None and not command.offered:
            raise cmd.not_offered(text)
        return command

    def _announced(self, result: AnnounceResult, class_ref: str, lang: str) -> Reply:
        ctx = self.ctx
        texts = replies.announced_texts(
            result, class_ref, lang, ctx.policy.timezone, ctx.clock.now()
        )
        return Reply(texts, announcement_id=result.announcement.id)

    async def _preview(self, platform: str, account_id: str, draft: Any, lang: str) -> Reply:
        """Check the draft, keep it under a token and show it with what to know first. When it
        repeats an announcement, confirming it sends it anyway: the repeat the author was shown
        is remembered with the draft (by its content, `_shown_repeat`)."""
        ctx = self.ctx
        shown = await announcing.preview(ctx, draft, source=platform)
        token = await self._keep_draft(platform, account_id, draft, lang)
        if shown.repeat_of is not None:
            async with ctx.db.transaction() as tx:
                await tx.state.set(
                    platform, _repeat_key(account_id, draft), str(shown.repeat_of.id)
                )
        texts = replies.preview_texts(shown, lang, ctx.policy.timezone, ctx.clock.now())
        return Reply(texts, confirmation=token)

    async def _send(
        self,
        platform: str,
        account_id: str,
        draft: Any,
        lang: str,
        class_ref: str,
        *,
        with_text: bool = False,
    ) -> Reply:
        """Announce (`with_text`: the reply starts with the signed text); a repeat the author
        was not shown is previewed instead, with its note, to be confirmed."""
        async with self.ctx.db.transaction() as tx:
            seen = await tx.state.get(platform, _repeat_key(account_id, draft))
        again = int(seen) if seen else False
        try:
            try:
                result = await announcing.announce(self.ctx, draft, source=platform, again=again)
            except announcing.AlreadySent:
                return await self._preview(platform, account_id, draft, lang)
        except KlasbotError as error:
            return Reply([error_text(error, lang)])
        reply = self._announced(result, class_ref, lang)
        if with_text:
            reply.texts.insert(0, result.announcement.signed_text)
        return reply

    async def _group_message(
        self, platform: str, account_id: str, text: str, group: Group, preview: bool
    ) -> Reply:
        """Rule 3: only the bot posts. A staff command is deleted and answered privately; any
        other message is deleted."""
        ctx = self.ctx
        async with ctx.db.transaction() as tx:
            person = await tx.accounts.person_of(platform, account_id)
            roster = await tx.roster.class_roster(group.class_id)
        if person is not None and authorization.is_staff_of_class(person.id, roster):
            lang = self._language(person)
            try:
                command = self._parse(text)
            except InvalidInput as error:
                # Staff of this class: an unknown command is answered like in a private chat.
                answer = _not_parsed(error, person, True, lang)
                return Reply([answer], delete_original=True)
            if command is not None:
                try:
                    reply = await self._command(
                        platform, account_id, command, lang, chat_id=group.chat_id, preview=preview
                    )
                except KlasbotError as error:
                    reply = Reply([error_text(error, lang)])
                reply.delete_original = True
                return reply
        async with ctx.db.transaction() as tx:
            await ctx.audit(
                tx,
                "member-post-deleted",
                person.id if person else None,
                [person.id] if person else [],
                group=group.id,
                account=None if person else account_id,
            )
        return Reply([], delete_original=True)

    async def _stranger(
        self,
        tx: Repositories,
        platform: str,
        account_id: str,
        name: str,
        lang: str,
        *,
        refusal: str | None = None,
    ) -> Reply | None:
        """A command (`name`, without its prefix) from an account nobody is linked to: audited
        and counted per account, and refused while the account is throttled
        (`bot.usecases.throttling`). None for `/help`, which is answered as usual. `refusal` is
        the answer (default: link first)."""
        ctx = self.ctx
        throttled = await throttling.refuse_if_throttled(ctx, tx, platform, account_id, name, lang)
        if throttled is not None:
            return Reply([throttled])
        if refusal is None and name == cmd.Help.name:
            await throttling.audit_stranger(ctx, tx, platform, account_id, name)
            return None
        too_many = await throttling.record_failure(
            ctx, tx, platform, account_id, "stranger-command", lang, command=name
        )
        answer = refusal if refusal is not None else M_NOT_LINKED(lang)
        return Reply([answer] + ([too_many] if too_many else []))

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
        ctx = self.ctx
        if isinstance(command, cmd.Start):
            return await linking.link_account(ctx, platform, account_id, command.code, lang)
        async with ctx.db.transaction() as tx:
            person, staff_anywhere = await person_and_staff(tx, platform, account_id)
            if person is None:
                stranger = await self._stranger(tx, platform, account_id, command.name, lang)
                if stranger is not None:
                    return stranger
        if isinstance(command, cmd.Help):
            if command.topic is not None:
                return Reply([chat_help.topic(command.topic, person, staff_anywhere, lang)])
            return Reply([self.help_text(person, staff_anywhere, lang)])
        allowed = authorization.allowed_commands(person, staff_anywhere)
        if command.name not in allowed:
            if person is None:
                # Not reached: `_stranger` answered every stranger above.
                return Reply([M_NOT_LINKED(lang)])
            who, may = person, staff_anywhere
            error = RuleViolation(
                M_NOT_STAFF,
                rule=authorization.RULE,
                code="not-staff",
                name=Localized(lambda lang: chat_help.command_word(type(command), lang)[1:]),
                allowed=Localized(lambda lang: chat_help.command_list(who, may, lang)),
            )
            await ctx.audit_refusal(
                error, actor=person.id, persons=[person.id], command=command.name
            )
            return Reply([error.render(lang)])
        assert person is not None
        if isinstance(command, cmd.Language):
            return await self._choose_language(person, command.language, lang, platform)
        if isinstance(command, cmd.Withdraw):
            withdrawn = await undo.withdraw(
                ctx, command.announcement_id, person.id, command.reason, source=platform
            )
            return Reply([undo_text(command.announcement_id, withdrawn, lang, withdrawn=True)])
        if isinstance(command, cmd.Correct):
            corrected = await undo.correct(
                ctx, command.announcement_id, person.id, command.text, source=platform
            )
            return Reply([undo_text(command.announcement_id, corrected, lang, withdrawn=False)])
        if isinstance(command, cmd.Report | cmd.Escalate):
            escalation = isinstance(command, cmd.Escalate)
            stored = await reports.report(
                ctx, person, command.text, escalation=escalation, source=platform, chat_id=chat_id
            )
            if stored.forwarded_to:
                answer = M_ESCALATED if escalation else M_REPORTED
            else:
                answer = M_ESCALATION_KEPT if escalation else M_REPORT_KEPT
            return Reply([answer(lang, number=stored.id)])
        if isinstance(command, cmd.Bind):
            if chat_id is None:
                return Reply([M_BIND_IN_GROUP(lang)])
            group = await groups.bind_group(ctx, platform, chat_id, command.class_ref, actor=person)
            return Reply([M_BOUND(lang, klas=command.class_ref)], group=group)
        if isinstance(command, cmd.Schedule):
            return await self._planning(person, command, lang, platform)
        planned = schedule_draft_for(command, person.id)
        if planned is not None:
            if preview:
                return await self._preview_schedule(platform, account_id, planned, lang)
            return await self._schedule(platform, account_id, planned, lang)
        draft = draft_for(command, person.id)
        assert draft is not None  # every other command that reaches here announces now
        if preview:
            return await self._preview(platform, account_id, draft, lang)
        return await self._send(
            platform, account_id, draft, lang, command.class_ref, with_text=True
        )

    # ------------------------------------------------------------------------ schedules

    def _request(self, draft: ScheduleDraft) -> scheduling.ScheduleRequest:
        ctx = self.ctx
        when = parse_when(draft.when, now=ctx.clock.now(), tz=ctx.policy.timezone)
        return scheduling.ScheduleRequest(
            draft.class_id, draft.author_id, when, draft.text, Kind(draft.kind)
        )

    async def _preview_schedule(
        self, platform: str, account_id: str, draft: ScheduleDraft, lang: str
    ) -> Reply:
        """The schedule in words with its next dates and what to know first, kept under a
        token until it is confirmed (the same flow as an announcement's preview)."""
        ctx = self.ctx
        plan = await scheduling.plan(ctx, self._request(draft), source=platform)
        token = await self._keep_draft(platform, account_id, draft, lang)
        texts = schedule_replies.plan_texts(plan, lang, ctx.policy.timezone, ctx.clock.now())
        return Reply(texts, confirmation=token)

    async def _schedule(
        self, platform: str, account_id: str, draft: ScheduleDraft, lang: str
    ) -> Reply:
        ctx = self.ctx
        try:
            schedule, plan = await scheduling.add(ctx, self._request(draft), source=platform)
        except KlasbotError as error:
            return Reply([error_text(error, lang)])
        texts = schedule_replies.scheduled_texts(
            schedule.id, plan, lang, ctx.policy.timezone, ctx.clock.now()
        )
        return Reply(texts)

    async def _planning(
        self, person: Person, command: cmd.Schedule, lang: str, platform: str
    ) -> Reply:
        """`/planning KLAS`: the class's schedules with their next dates (staff of the class);
        `/planning KLAS annuleer N`: cancel one (its author or staff of the class)."""
        ctx = self.ctx
        if command.cancel_id is not None:
            cancelled = await scheduling.cancel(
                ctx, command.cancel_id, person, class_ref=command.class_ref, source=platform
            )
            async with ctx.db.transaction() as tx:
                roster = await tx.roster.class_roster(cancelled.class_id)
            return Reply(
                [
                    schedule_replies.M_SCHEDULE_CANCELLED(
                        lang, id=cancelled.id, klas=roster.school_class.code
                    )
                ]
            )
        async with ctx.db.transaction() as tx:
            school_class = await resolve_class(tx, command.class_ref)
            roster = await tx.roster.class_roster(school_class.id)
        authorization.require_staff_of_class(person, roster)
        views = await scheduling.list_schedules(ctx, school_class.id)
        klas = roster.school_class.code
        text = schedule_replies.list_text(klas, views, lang, ctx.policy.timezone, ctx.clock.now())
        word = chat_help.command_word(cmd.Schedule, lang)
        cancel_word = schedule_replies.CANCEL_WORD(lang)
        actions = [
            (
                schedule_replies.CANCEL_BUTTON(lang, id=v.schedule.id),
                f"{word} {klas} {cancel_word} {v.schedule.id}",
            )
            for v in views
        ]
        return Reply([text], actions=actions)

    async def _choose_language(
        self, person: Person, language: str | None, lang: str, platform: str
    ) -> Reply:
        """`/taal`: without a language, which one is used now and the choices; with one, store
        it and confirm in the new language."""
        if language is None:
            command = chat_help.command_word(cmd.Language, lang)
            return Reply(
                [
                    M_LANGUAGE_IS(
                        lang,
                        language=language_name(lang, lang),
                        command=command,
                        choices=choices(lang),
                    )
                ]
            )
        assert language in available_languages()  # the grammar accepts no other
        await preferences.set_language(self.ctx, person.id, language, source=platform)
        return Reply([M_LANGUAGE_SET(language, language=language_name(language, language))])


def _repeat_key(account_id: str, draft: Any) -> str:
    """Where the repeat a preview showed is kept: under the draft's content, so that confirming
    any preview of the same draft (by its token or as the latest) finds it."""
    raw = f"{account_id}\x1f{draft_to_json(draft)}"
    return f"repeat-shown:{hashlib.sha256(raw.encode()).hexdigest()[:32]}"


def _not_parsed(error: InvalidInput, person: Person | None, staff_anywhere: bool, lang: str) -> str:
    """The answer to a message the grammar refused: for an unknown command, what this person can
    use (and the command they may have meant); else the grammar's own explanation."""
    if isinstance(error, cmd.UnknownCommand):
        return chat_help.unknown_command(error, person, staff_anywhere, lang)
    return error_text(error, lang)

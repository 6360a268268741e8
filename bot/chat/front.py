"""One incoming chat message → the use cases → one reply; the same on every platform.

Announcements sent from a chat are previewed first: the checked draft is kept in the database
(so a confirmation still works after a restart) under a token, and `confirm` sends it once."""

from __future__ import annotations

import json
import secrets
from typing import Any

from bot import commands as cmd
from bot.chat.drafts import draft_for, draft_from_json, draft_to_json
from bot.chat.events import PlatformEvents
from bot.domain import Group, Person
from bot.errors import InvalidInput, KlasbotError, RuleViolation
from bot.messages import (
    M_ANNOUNCED,
    M_BIND_IN_GROUP,
    M_BOUND,
    M_CANCELLED,
    M_ESCALATED,
    M_HELD,
    M_HELP_HEADER,
    M_NOT_LINKED,
    M_NOT_STAFF,
    M_NOT_YOUR_PREVIEW,
    M_NOTHING_TO_CONFIRM,
    M_ONE_MOMENT_ONLY,
    M_PREVIEW_EXPIRED,
    M_REPORT_STORED,
    M_REPORTED,
    M_UNREACHABLE_WARNING,
)
from bot.ports import Reply
from bot.repositories import Repositories
from bot.rules import authorization
from bot.usecases import announcing, groups, linking, reports, throttling
from bot.usecases.announcing import AnnounceResult
from bot.usecases.context import Context
from bot.usecases.queries import person_and_staff


class ChatFrontEnd(PlatformEvents):
    """Messages in, replies out. `handle` and `confirm`/`cancel` are all a platform needs for
    chat; `bot.chat.events.PlatformEvents` takes what a platform observes in its groups."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def language(self) -> str:
        return self.ctx.policy.language

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
        pass to `confirm` or `cancel`."""
        ctx = self.ctx
        if in_group and chat_id is not None:
            async with ctx.db.transaction() as tx:
                bound = await tx.groups.by_chat(platform, chat_id)
            if bound is not None:
                return await self._group_message(platform, account_id, text, bound, preview)
        lang = cmd.command_language(text) if text else ctx.policy.language
        try:
            command = self._parse(text)
        except InvalidInput as error:
            async with ctx.db.transaction() as tx:
                if await tx.accounts.person_of(platform, account_id) is None:
                    # A malformed or unknown command from a stranger counts like any other.
                    word = text.split()[0].split("@")[0].lstrip("/!")[:40] if text.split() else ""
                    stranger = await self._stranger(
                        tx, platform, account_id, word, lang, refusal=error.render(lang)
                    )
                    if stranger is not None:
                        return stranger
            return Reply([error.render(lang)])
        if command is None:
            return Reply([])
        try:
            return await self._command(
                platform, account_id, command, lang, chat_id=chat_id, preview=preview
            )
        except KlasbotError as error:
            return Reply([error.render(lang)])

    async def confirm(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        """Send the draft previewed under `token` (or the account's latest), once. The rules run
        again: the roster may have changed in between. `lang` is for a refusal (nothing to
        confirm); the announcement's reply speaks the language of its preview."""
        found = await self._take_draft(platform, account_id, token, lang)
        if isinstance(found, Reply):
            return found
        draft, lang = found
        try:
            result = await announcing.announce(self.ctx, draft, source=platform)
        except KlasbotError as error:
            return Reply([error.render(lang)])
        return self._announced(result, draft.class_id, lang)

    async def cancel(
        self, platform: str, account_id: str, token: str | None = None, *, lang: str | None = None
    ) -> Reply:
        found = await self._take_draft(platform, account_id, token, lang)
        if isinstance(found, Reply):
            return found
        return Reply([M_CANCELLED(found[1])])

    def help_text(self, person: Person | None, staff_anywhere: bool, lang: str) -> str:
        lines = [M_HELP_HEADER(lang)]
        for name in authorization.visible_commands(person, staff_anywhere):
            command_class = cmd.COMMANDS[name]
            lines.append(f"  {command_class.syntax(lang)} — {command_class.summary(lang)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------------ drafts

    async def _keep_draft(self, platform: str, account_id: str, draft: Any, lang: str) -> str:
        token = secrets.token_urlsafe(9)
        value = json.dumps({"draft": draft_to_json(draft), "account": account_id, "lang": lang})
        async with self.ctx.db.transaction() as tx:
            await tx.state.set(platform, f"draft:{token}", value)
            await tx.state.set(platform, f"pending:{account_id}", token)
        return token

    async def _take_draft(
        self, platform: str, account_id: str, token: str | None, lang: str | None
    ) -> tuple[Any, str] | Reply:
        lang = lang or self.ctx.policy.language
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
        texts = [M_ANNOUNCED(lang, id=result.announcement.id, klas=class_ref, **result.counts)]
        if result.held_until:
            local = result.held_until.astimezone(self.ctx.policy.timezone)
            texts.append(M_HELD(lang, time=local.strftime("%Y-%m-%d %H:%M")))
        if result.unreachable:
            texts.append(M_UNREACHABLE_WARNING(lang, pupils=", ".join(result.unreachable)))
        return Reply(texts, announcement_id=result.announcement.id)

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
            lang = cmd.command_language(text)
            try:
                command = self._parse(text)
            except InvalidInput as error:
                return Reply([error.render(lang)], delete_original=True)
            if command is not None:
                try:
                    reply = await self._command(
                        platform, account_id, command, lang, chat_id=group.chat_id, preview=preview
                    )
                except KlasbotError as error:
                    reply = Reply([error.render(lang)])
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
            return await linking.link_account(ctx, platform, account_id, command.code)
        async with ctx.db.transaction() as tx:
            person, staff_anywhere = await person_and_staff(tx, platform, account_id)
            if person is None:
                stranger = await self._stranger(tx, platform, account_id, command.name, lang)
                if stranger is not None:
                    return stranger
        if isinstance(command, cmd.Help):
            return Reply([self.help_text(person, staff_anywhere, lang)])
        allowed = authorization.allowed_commands(person, staff_anywhere)
        if command.name not in allowed:
            if person is None:
                # Not reached: `_stranger` answered every stranger above.
                return Reply([M_NOT_LINKED(lang)])
            error = RuleViolation(
                M_NOT_STAFF,
                rule=authorization.RULE,
                code="not-staff",
                name=command.name,
                allowed=", ".join(f"/{c}" for c in sorted(allowed)),
            )
            await ctx.audit_refusal(
                error, actor=person.id, persons=[person.id], command=command.name
            )
            return Reply([error.render(lang)])
        assert person is not None
        if isinstance(command, cmd.Report | cmd.Escalate):
            escalation = isinstance(command, cmd.Escalate)
            queued = await reports.report(
                ctx, person, command.text, escalation=escalation, source=platform
            )
            confirmation = (M_ESCALATED if escalation else M_REPORTED)(lang)
            return Reply([confirmation if queued else M_REPORT_STORED(lang)])
        if isinstance(command, cmd.Bind):
            if chat_id is None:
                return Reply([M_BIND_IN_GROUP(lang)])
            group = await groups.bind_group(ctx, platform, chat_id, command.class_ref, actor=person)
            return Reply([M_BOUND(lang, klas=command.class_ref)], group=group)
        draft = draft_for(command, person.id)
        if draft is None:
            # A recurring reminder: schedules are not built yet.
            return Reply([M_ONE_MOMENT_ONLY(lang, klas=command.class_ref, text=command.text)])
        if preview:
            text = await announcing.preview(ctx, draft, source=platform)
            token = await self._keep_draft(platform, account_id, draft, lang)
            return Reply([text], confirmation=token)
        result = await announcing.announce(ctx, draft, source=platform)
        reply = self._announced(result, command.class_ref, lang)
        reply.texts.insert(0, result.announcement.signed_text)
        return reply

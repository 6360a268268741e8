"""Accounts nobody is linked to: every wrong link code and every command they send is audited,
and an account that keeps trying is turned away for a while (so a stranger cannot guess codes or
probe staff commands at the speed of a script).

The policy: `LIMIT` (5) failures — a wrong code (unknown, used or expired) or a command that needs a
linked account — within `WINDOW` (15 minutes) throttle the account for `COOLING_OFF` (15 minutes
from the failure that tripped it). While throttled, `/start` and every command get one friendly
"too many attempts, try again after HH:MM" and nothing is checked: a correct code is refused too,
or throttling would only slow down a guesser who eventually finds one. Attempts during the
cooling-off period are audited but do not extend it, so a pupil who mistyped is never locked out
for longer than that. `/help` is audited but not counted: it is how a newcomer starts.

The count lives in the database (platform state `attempts:<account reference>`), so it survives
a restart and is shared by every process; it is read and written in the transaction that checks
the code. The admin is told once per throttling episode: a WARNING log line and a notice to
leadership through the outbox (in the same transaction), both naming the account only by
`account_ref`, a pseudonym; no code is ever stored or logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.dates import format_date
from bot.messages import M_THROTTLED_MAIL, M_TOO_MANY_ATTEMPTS
from bot.notices import ReportNotice
from bot.outbox import add_mail_notice, notice_key
from bot.policy import leadership_for, school_name_for
from bot.repositories import Repositories
from bot.usecases.context import Context

logger = logging.getLogger(__name__)

LIMIT = 5
WINDOW = timedelta(minutes=15)
COOLING_OFF = timedelta(minutes=15)
_STATE_KEY = "attempts:"


def account_ref(platform: str, account_id: str) -> str:
    """A pseudonymous reference to a platform account for the audit trail and the log: the same
    account always gets the same reference; the reference does not show the account id."""
    raw = f"klasbot account\x1f{platform}\x1f{account_id}".encode()
    return "acct-" + hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Attempts:
    """One account's recent failures and, when throttled, until when."""

    failures: tuple[datetime, ...] = ()
    until: datetime | None = None

    def throttled_until(self, now: datetime) -> datetime | None:
        return self.until if self.until is not None and now < self.until else None

    def failed(self, now: datetime) -> Attempts:
        """After one more failure at `now` (the caller checked the account is not throttled)."""
        recent = tuple(t for t in self.failures if t > now - WINDOW) + (now,)
        if len(recent) >= LIMIT:
            return Attempts((), now + COOLING_OFF)
        return Attempts(recent, None)

    def to_json(self) -> str:
        data: dict[str, Any] = {"failures": [t.isoformat() for t in self.failures]}
        if self.until is not None:
            data["until"] = self.until.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str | None) -> Attempts:
        if not raw:
            return cls()
        data = json.loads(raw)
        until = data.get("until")
        return cls(
            tuple(datetime.fromisoformat(t) for t in data.get("failures", ())),
            datetime.fromisoformat(until) if until else None,
        )


async def _load(tx: Repositories, platform: str, ref: str) -> Attempts:
    # Counted by several processes at once (a bot per platform, a webhook worker pool): the
    # count is read and written under one lock.
    await tx.state.lock(platform, _STATE_KEY + ref)
    return Attempts.from_json(await tx.state.get(platform, _STATE_KEY + ref))


def _refusal(ctx: Context, until: datetime, lang: str) -> str:
    local = until.astimezone(ctx.policy.timezone)
    return M_TOO_MANY_ATTEMPTS(lang, time=local.strftime("%H:%M"))


async def refuse_if_throttled(
    ctx: Context, tx: Repositories, platform: str, account_id: str, attempt: str, lang: str
) -> str | None:
    """The refusal to say when the account is throttled now (the attempt audited), else None."""
    ref = account_ref(platform, account_id)
    now = ctx.clock.now()
    until = (await _load(tx, platform, ref)).throttled_until(now)
    if until is None:
        return None
    await ctx.audit(
        tx,
        "attempt-throttled",
        None,
        [],
        platform=platform,
        account=ref,
        attempt=attempt,
        until=until.isoformat(),
    )
    return _refusal(ctx, until, lang)


async def record_failure(
    ctx: Context,
    tx: Repositories,
    platform: str,
    account_id: str,
    kind: str,
    lang: str,
    *,
    persons: tuple[str, ...] = (),
    **details: Any,
) -> str | None:
    """Audit a wrong code or a refused command (`kind`, `details`) and count it. Returns the
    throttle refusal to add to the reply when this failure throttles the account, else None."""
    ref = account_ref(platform, account_id)
    now = ctx.clock.now()
    await ctx.audit(tx, kind, None, persons, platform=platform, account=ref, **details)
    before = await _load(tx, platform, ref)
    after = before.failed(now)
    await tx.state.set(platform, _STATE_KEY + ref, after.to_json())
    if after.until is None:
        return None
    await _throttled(ctx, tx, platform, ref, after.until)
    return _refusal(ctx, after.until, lang)


async def audit_stranger(
    ctx: Context, tx: Repositories, platform: str, account_id: str, command: str
) -> None:
    """Audit a command from an unlinked account that is not counted (`/help`)."""
    await ctx.audit(
        tx,
        "stranger-command",
        None,
        [],
        platform=platform,
        account=account_ref(platform, account_id),
        command=command,
        counted=False,
    )


async def _throttled(
    ctx: Context, tx: Repositories, platform: str, ref: str, until: datetime
) -> None:
    """A throttling episode begins: audit it, log it and tell leadership (once per episode)."""
    minutes = int(WINDOW.total_seconds() // 60)
    local = until.astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M")
    await ctx.audit(
        tx,
        "account-throttled",
        None,
        [],
        platform=platform,
        account=ref,
        failures=LIMIT,
        until=until.isoformat(),
    )
    logger.warning(
        "%s account %s throttled until %s: %d wrong codes or commands within %d minutes",
        platform,
        ref,
        local,
        LIMIT,
        minutes,
    )
    lang = ctx.policy.language
    ends = until.astimezone(ctx.policy.timezone)
    notice = ReportNotice(
        kind="notice",
        reporter="klasbot",
        text=M_THROTTLED_MAIL(
            lang,
            platform=platform,
            account=ref,
            attempts=LIMIT,
            minutes=minutes,
            time=f"{format_date(ends.date(), lang)} {ends:%H:%M}",
        ),
        created_at=ctx.clock.now().astimezone(ctx.policy.timezone).strftime("%Y-%m-%d %H:%M"),
        school_name=await school_name_for(tx.roster, ctx.policy),
    )
    queued = await add_mail_notice(
        tx,
        notice,
        person_id="",
        # A stranger's account concerns no class: the leadership of every school is told.
        to=await leadership_for(tx.roster, ctx.policy, None),
        key=notice_key("throttled", platform, ref, until.isoformat()),
    )
    if not queued:
        logger.warning("nobody to tell that %s account %s was throttled", platform, ref)

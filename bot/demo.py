"""`klasbot demo`: a chat in the terminal over the bundled demo school.

Lines are `SPEAKER: message` (SPEAKER is a person's sourcedId, speaking privately to the bot) or,
for the group itself, `SPEAKER @ KLAS: message`. Interactive sessions may also type a bare message
as the current person. Lines starting with `:` steer the demo itself:
  :als PERSON        become PERSON                     (:as)
  :wie [KLAS]        who is who                        (:who)
  :groep KLAS        create KLAS's console group       (:group)
  :codes KLAS        create invite codes for KLAS      (:invites)
  :koppel PERSON     give PERSON a code and send /start CODE as them   (:link)
  :verstuur          deliver what is due now           (:dispatch)
  :leveringen ID     who received announcement ID, through which channel   (:deliveries)
  :help              these commands (in the school's language), :stop ends the demo
`#` starts a comment. Everything the demo says itself is in the school's language
(`school.language`); the bot speaks each person's. The same database as the other CLI commands
is used, so what a script does is visible to `klasbot groups`, `klasbot deliveries` and the rest.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.cli import texts as t
from bot.cli.common import MAX_ID, BadValue, parse_id
from bot.domain import Role
from bot.errors import KlasbotError
from bot.i18n import Msg
from bot.messages import ROLE_NAMES
from bot.policy import school_name_for
from bot.usecases import groups, invites, queries, roster
from config.settings import Settings

logger = logging.getLogger(__name__)

M_NOT_AN_ANNOUNCEMENT = Msg(":{command} {value!r}: give an announcement number from 1 to {max}")
M_LINE_FAILED = Msg("{where}this line could not be handled ({error}); the demo goes on")
M_SCRIPT_NOT_UTF8 = Msg("{path}: not UTF-8 text ({error})")
M_WELCOME = Msg(
    "klasbot demo — {school}\n"
    "You talk to the bot as a person from the roster. Type :help for the demo's commands,\n"
    "/help for what the bot lets that person do. Start for example with:\n"
    "  :group 2B        (create the class group of 2B)\n"
    "  :link p-2b-01    (Zoë links her account)\n"
    "  :as t-devries    (become mentor J. de Vries)\n"
    "  /cancelled 2B tomorrow 3 maths The teacher is ill\n"
    "Stop: Ctrl-D or :stop."
)
M_META_HELP = Msg(
    "  :as PERSON         become PERSON\n"
    "  :who [CLASS]       who is who\n"
    "  :group CLASS       create CLASS's console group\n"
    "  :invites CLASS     create invite codes for CLASS\n"
    "  :link PERSON       give PERSON a code and send /start CODE as them\n"
    "  :dispatch          deliver what is due now\n"
    "  :deliveries ID     who received announcement ID, through which channel\n"
    "  :help              this list\n"
    "  :stop              end the demo\n"
    "A line `PERSON: message` is said privately to the bot, `PERSON @ CLASS: message` in the "
    "class group; # starts a comment."
)
M_NO_CONSOLE_GROUP = Msg("{klas} has no console group; create one with :group {klas}")
M_POST_DELETED = Msg("(message deleted: only the bot posts in the class group)")
M_DELIVERED = Msg(
    "(delivered: {sent} sent, {letters} letter(s) ready, {held} held until after quiet hours, "
    "{retried} to try again later)"
)
M_DELIVERIES_TITLE = Msg("announcement {id}")
M_NOT_IN_ROSTER = Msg("{ref!r} is not in the roster; :who shows who is")
M_YOU_ARE = Msg("you are now {name} ({role}, {id})")
M_GROUP_MADE = Msg("console group {chat} for {klas} created")
M_CODE_FOR = Msg("{person}: code {code} (by {channel})")
M_NO_CODE = Msg("{person} gets no code (younger than 13)")
M_UNKNOWN_META = Msg("unknown demo command :{word}; try :help")
M_SPEAK_AS_FIRST = Msg("first type :as PERSON, or write `PERSON: message`")
M_EXPECTED_LINE = Msg("{where}expected `SPEAKER: message` (SPEAKER is a sourcedId), got {line!r}")
M_GROUP_ECHO = Msg("[group {chat}]")
M_WHERE = Msg("{path}, line {number}: ")
M_CLASS_TITLE = Msg("class {code}")
H_NAME = Msg("name")
H_ROLE = Msg("role")
H_BORN = Msg("born")
ROLES = ROLE_NAMES
MENTOR = Msg("mentor", context="role")

DEMO_ROSTER = Path(__file__).resolve().parent.parent / "config" / "demo" / "roster"
DEMO_TOUR = Path(__file__).resolve().parent.parent / "config" / "demo" / "tour.txt"

# A sourcedId may contain "@", so the group form needs a space before it: `SPEAKER @ KLAS: …`.
_LINE = re.compile(r"^\s*(?P<speaker>[^\s:]+)(?:\s+@\s*(?P<klas>[^\s:]+))?\s*:\s?(?P<message>.*)$")


class ScriptError(Exception):
    pass


class Demo:
    def __init__(self, app: bootstrap.App, console: Console) -> None:
        self.app = app
        self.console = console
        self.speaker: str | None = None
        self.failures = 0

    @property
    def language(self) -> str:
        return self.app.policy.language

    async def guarded(self, raw: str, where: str = "", *, typed: bool = False) -> bool:
        """`line`, except that whatever goes wrong with one line is said in one line and the
        demo goes on (ScriptError, a malformed script line, is still the caller's)."""
        try:
            return await self.line(raw, where, typed=typed)
        except ScriptError:
            raise
        except Exception as error:
            logger.debug("demo line %s failed", where or "-", exc_info=True)
            self.failures += 1
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            self.say("demo", M_LINE_FAILED(self.language, where=where, error=reason), "red")
            return True

    def say(self, who: str, text: str, style: str = "") -> None:
        for i, line in enumerate(text.splitlines() or [""]):
            prefix = f"{who}> " if i == 0 else " " * (len(who) + 2)
            self.console.print(f"{prefix}{line}", style=style, markup=False, highlight=False)

    async def line(self, raw: str, where: str = "", *, typed: bool = False) -> bool:
        """Handle one line; False when the demo should stop. A `typed` line is already on the
        screen, so it is not echoed again."""
        text = raw.strip()
        if not text or text.startswith("#"):
            return True
        if text.startswith(":"):
            return await self.meta(text[1:].strip())
        match = _LINE.match(text)
        if match and not text.startswith(("/", "!")):
            speaker, klas, message = match["speaker"], match["klas"], match["message"]
        elif self.speaker is not None and not where:
            speaker, klas, message = self.speaker, None, text
        else:
            raise ScriptError(M_EXPECTED_LINE(self.language, where=where, line=raw.strip()))
        await self.speak(speaker, message, klas, echo=not typed)
        return True

    async def speak(
        self, speaker: str, message: str, klas: str | None = None, *, echo: bool = True
    ) -> None:
        chat = self.app.chat
        if echo:
            self.say(speaker if klas is None else f"{speaker} @ {klas}", message, "bold")
        if klas is None:
            reply = await chat.handle("console", speaker, message)
        else:
            async with self.app.db.transaction() as tx:
                found = await tx.roster.find_classes(klas)
                bound = await tx.groups.list(found[0].id, "console") if found else []
            if not bound:
                self.say("bot", M_NO_CONSOLE_GROUP(self.language, klas=klas), "red")
                return
            reply = await chat.handle(
                "console", speaker, message, chat_id=bound[0].chat_id, in_group=True
            )
            if reply.delete_original:
                self.say("bot", M_POST_DELETED(self.language), "yellow")
        for text in reply.texts:
            self.say("bot", text, "cyan")
        if reply.announcement_id is not None:
            await self.dispatch()
            await self.show_deliveries(reply.announcement_id)

    async def dispatch(self) -> None:
        stats = await self.app.dispatcher.run_once()
        text = M_DELIVERED(
            self.language,
            sent=stats.sent,
            letters=stats.letters,
            held=stats.held,
            retried=stats.retried,
        )
        self.say("bot", text, "dim")

    async def show_deliveries(self, announcement_id: int) -> None:
        rows = await queries.deliveries(self.app.ctx, announcement_id)
        async with self.app.db.transaction() as tx:
            people = await tx.roster.persons(d.pupil_id for d in rows)
        lang = self.language
        table = Table(
            *(h(lang) for h in (t.H_PUPIL, t.H_CHANNEL, t.H_REASON, t.H_STATUS, t.H_RECIPIENT)),
            title=M_DELIVERIES_TITLE(lang, id=announcement_id),
        )
        for d in rows:
            name = people[d.pupil_id].full_name if d.pupil_id in people else d.pupil_id
            to = ", ".join(r.email or r.name for r in d.recipients)
            table.add_row(
                f"{name} ({d.pupil_id})",
                t.label("channel", d.channel.value, lang),
                t.label("reason", d.reason.value if d.reason else None, lang),
                t.label("status", d.status.value, lang),
                to,
            )
        self.console.print(table)

    async def meta(self, command: str) -> bool:
        word, _, rest = command.partition(" ")
        word, rest = word.lower(), rest.strip()
        ctx = self.app.ctx
        try:
            if word in ("stop", "quit", "exit"):
                return False
            if word in ("als", "as"):
                async with self.app.db.transaction() as tx:
                    person = await tx.roster.person(rest)
                if person is None:
                    self.say("demo", M_NOT_IN_ROSTER(self.language, ref=rest), "red")
                else:
                    self.speaker = person.id
                    role = ROLES[person.role](self.language)
                    you = M_YOU_ARE(self.language, name=person.full_name, role=role, id=person.id)
                    self.say("demo", you, "green")
            elif word in ("wie", "who"):
                await self.who(rest or None)
            elif word in ("groep", "group"):
                group = await groups.create_group(ctx, rest, "console")
                made = M_GROUP_MADE(self.language, chat=group.chat_id, klas=rest)
                self.say("demo", made, "green")
            elif word in ("codes", "invites"):
                for invite in await invites.create_invites(ctx, class_ref=rest):
                    channel = t.label("channel", invite.channel.value, self.language)
                    code = M_CODE_FOR(
                        self.language, person=invite.person_id, code=invite.code, channel=channel
                    )
                    self.say("demo", code)
            elif word in ("koppel", "link"):
                issued = await invites.create_invites(ctx, person_ref=rest)
                if not issued:
                    self.say("demo", M_NO_CODE(self.language, person=rest), "yellow")
                for invite in issued:
                    await self.speak(invite.person_id, f"/start {invite.code}")
            elif word in ("verstuur", "dispatch"):
                await self.dispatch()
            elif word in ("leveringen", "deliveries"):
                await self.show_deliveries(parse_id(rest))
            elif word == "help":
                self.say("demo", M_META_HELP(self.language))
            else:
                self.say("demo", M_UNKNOWN_META(self.language, word=word), "red")
        except KlasbotError as error:
            self.failures += 1
            self.say("demo", error.render(self.app.policy.language), "red")
        except BadValue:
            self.failures += 1
            text = M_NOT_AN_ANNOUNCEMENT(self.language, command=word, value=rest, max=MAX_ID)
            self.say("demo", text, "red")
        return True

    async def who(self, klas: str | None) -> None:
        async with self.app.db.transaction() as tx:
            classes = await tx.roster.classes()
            for school_class, _, _, _ in classes:
                if klas and klas.lower() not in (
                    school_class.code.lower(),
                    school_class.id.lower(),
                ):
                    continue
                class_roster = await tx.roster.class_roster(school_class.id)
                lang = self.language
                table = Table(
                    *(h(lang) for h in (t.H_SOURCED_ID, H_NAME, H_ROLE, H_BORN)),
                    title=M_CLASS_TITLE(lang, code=school_class.code),
                )
                for p in class_roster.staff:
                    mentor = p.id in class_roster.mentor_ids
                    role = (MENTOR if mentor else ROLES[Role.TEACHER])(lang)
                    table.add_row(p.id, p.full_name, role, "")
                for p in class_roster.pupils:
                    table.add_row(
                        p.id,
                        p.full_name,
                        ROLES[Role.PUPIL](lang),
                        p.birth_date.isoformat() if p.birth_date else "?",
                    )
                self.console.print(table)


async def prepare(settings: Settings) -> None:
    """Bring the schema up to date; load the demo school into an empty database."""
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings) as app:
        async with app.db.transaction() as tx:
            empty = await tx.roster.count_persons() == 0
        if empty:
            await roster.import_roster(app.ctx, read_roster(DEMO_ROSTER))


async def run_demo(settings: Settings, *, script: Path | None, console: Console) -> int:
    await prepare(settings)
    async with bootstrap.build(settings, console_echo=lambda chat, text: None) as app:
        demo = Demo(app, console)
        async with app.db.transaction() as tx:
            school = await school_name_for(tx.roster, app.policy)
        app.console.echo = lambda chat, text: demo.say(
            M_GROUP_ECHO(demo.language, chat=chat), text, "magenta"
        )
        if script is not None:
            data = await asyncio.to_thread(script.read_bytes)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                console.print(
                    "klasbot: " + M_SCRIPT_NOT_UTF8(demo.language, path=script, error=error),
                    markup=False,
                    style="red",
                )
                return 2
            return await _replay(demo, text.splitlines(), str(script))
        # A byte that is not UTF-8 becomes U+FFFD: one line that names nobody, not a traceback.
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="replace")
        if not sys.stdin.isatty():
            lines = sys.stdin.read().splitlines()
            if any(line.strip() for line in lines):
                return await _replay(demo, lines, "<stdin>")
            console.print(M_WELCOME(demo.language, school=school), markup=False)
            return await _replay(
                demo, DEMO_TOUR.read_text(encoding="utf-8").splitlines(), str(DEMO_TOUR)
            )
        console.print(M_WELCOME(demo.language, school=school), markup=False)
        while True:
            prompt = f"{demo.speaker or '?'}> "
            try:
                raw = await asyncio.to_thread(input, prompt)
            except EOFError:
                return 0
            try:
                if not await demo.guarded(raw, typed=True):
                    return 0
            except ScriptError:
                console.print(M_SPEAK_AS_FIRST(demo.language), markup=False, style="red")


async def _replay(demo: Demo, lines: list[str], name: str) -> int:
    for number, raw in enumerate(lines, start=1):
        try:
            where = M_WHERE(demo.language, path=name, number=number)
            if not await demo.guarded(raw, where=where):
                break
        except ScriptError as exc:
            demo.console.print(f"klasbot: {exc}", markup=False, style="red")
            return 2
    return 0

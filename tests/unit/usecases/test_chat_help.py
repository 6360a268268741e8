"""Help in a chat (issue 10): `/help` lists only what the person may do, `/help COMMAND` explains
every command that is built, a message or command the bot does not understand gets a short help,
and no reply ever sends anyone to the command line."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import bot.chat
import bot.rules
import bot.usecases
from bot import commands as cmd
from bot import dates, messages
from bot.chat import texts as chat_texts
from bot.chat.front import ChatFrontEnd
from bot.chat.help import command_word
from bot.commands import grammar, types
from bot.i18n import Msg
from bot.usecases import groups as groups_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import link

OFFERED = [name for name, c in cmd.COMMANDS.items() if c.offered]
# What a chat reply must never say: a teacher in a chat cannot run the command line.
COMMAND_LINE = re.compile(r"klasbot |`klasbot|--[a-z]|\bCLI\b|command line|opdrachtregel", re.I)


async def ask(front: ChatFrontEnd, account: str, text: str) -> str:
    reply = await front.handle("console", account, text)
    assert len(reply.texts) == 1, reply.texts
    return reply.texts[0]


# --- /help COMMAND ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", OFFERED)
@pytest.mark.parametrize("lang", ["nl", "en"])
async def test_help_explains_every_built_command(
    ctx: Context, front: ChatFrontEnd, name: str, lang: str
) -> None:
    command = cmd.COMMANDS[name]
    await link(ctx, "t-devries")
    if lang == "en":
        await front.handle("console", "t-devries", "/taal en")
    text = await ask(front, "t-devries", f"/help {command.english}")
    lines = text.splitlines()
    assert lines[0] == f"{command.syntax(lang)} — {command.summary(lang)}"
    assert command.who(lang) in lines
    example = "Voorbeeld: " if lang == "nl" else "Example: "
    assert example + command.usage(lang) in lines
    if command.details is not None:
        assert command.details(lang) in lines
    # The example works as it is written.
    parsed = cmd.parse_command(
        command.usage(lang), today=ctx.today(), now=ctx.clock.now(), tz=ctx.policy.timezone
    )
    assert isinstance(parsed, command)


async def test_help_about_a_staff_command_tells_a_pupil_what_they_can_use(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    text = await ask(front, "p-2b-01", "/help intrekken")
    assert text.startswith("/intrekken NUMMER [reden] — ")
    assert "Wie: de schrijver van het bericht, of een docent van de klas." in text
    assert text.splitlines()[-1] == (
        "Dit commando is niet beschikbaar voor dit account. Wel beschikbaar: /start, /taal, "
        "/melden, /help."
    )


async def test_help_about_planning_says_how_to_list_and_cancel(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    text = await ask(front, "t-devries", "/help planning")
    assert text.startswith("/planning KLAS [annuleer NUMMER]")
    assert "/planning 2B annuleer 3" in text
    assert "Voorbeeld: /planning 2B" in text


async def test_help_lists_the_words_of_the_persons_language(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    await front.handle("console", "t-devries", "/taal en")
    text = await ask(front, "t-devries", "/hulp")
    words = [line.split()[0] for line in text.splitlines() if line.startswith("  /")]
    assert words == [
        "/start",
        "/cancelled",
        "/homework",
        "/reminder",
        "/trip",
        "/schedule",
        "/withdraw",
        "/correct",
        "/language",
        "/link",
        "/report",
        "/escalate",
        "/help",
    ]
    assert text.splitlines()[-1] == "Send /help COMMAND for how a command works, with an example."


# --- what the bot does not understand -----------------------------------------------------------


async def test_a_plain_message_gets_a_short_help(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "g-01")
    text = await ask(front, "g-01", "hallo?")
    assert text == (
        "Ik begrijp alleen commando's. Beschikbaar: /start, /taal, /melden, /help. Stuur /help "
        "voor meer, of /help COMMANDO voor uitleg over één commando."
    )


async def test_a_plain_message_from_a_stranger_says_how_to_link(
    ctx: Context, front: ChatFrontEnd
) -> None:
    text = await ask(front, "acc-unknown", "hallo?")
    assert text == chat_texts.M_NOT_UNDERSTOOD_STRANGER("nl")
    assert "/start CODE" in text


async def test_plain_messages_in_a_group_that_is_no_class_group_get_no_answer(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", "hallo?", chat_id="other-group", in_group=True)
    assert reply.texts == []


async def test_plain_messages_in_a_class_group_are_still_only_deleted(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "p-2b-01")
    reply = await front.handle("console", "p-2b-01", "hallo?", chat_id=group.chat_id, in_group=True)
    assert reply.delete_original
    assert reply.texts == []


async def test_an_empty_message_gets_no_answer(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "g-01")
    assert (await front.handle("console", "g-01", "   ")).texts == []


async def test_an_unknown_command_lists_only_what_the_person_may_use(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    text = await ask(front, "p-2b-01", "!feest 2B")
    assert (
        text
        == "!feest ken ik niet. Beschikbaar: !start, !taal, !melden, !help. Stuur !help voor meer."
    )


async def test_a_close_command_is_suggested_only_to_who_may_use_it(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    await link(ctx, "t-devries")
    assert "Misschien" not in await ask(front, "p-2b-01", "/huiswrek 2B")
    teacher = await ask(front, "t-devries", "/huiswrek 2B")
    assert teacher.startswith("/huiswrek ken ik niet. Misschien /huiswerk?")
    await front.handle("console", "t-devries", "/taal en")
    assert (await ask(front, "t-devries", "/huiswrek 2B")).startswith(
        "I don't know /huiswrek. Did you mean /homework?"
    )


async def test_an_unknown_command_from_a_stranger_still_counts_as_a_failure(
    ctx: Context, front: ChatFrontEnd
) -> None:
    text = await ask(front, "acc-unknown", "/feest")
    assert text.startswith("/feest ken ik niet. Beschikbaar: /start, /help.")
    async with ctx.db.transaction() as tx:
        failures = await tx.audit.events(kind="stranger-command")
    assert failures


# --- never the command line ---------------------------------------------------------------------


def _chat_messages() -> list[tuple[str, Msg]]:
    """Every message a chat can say: the chat's own, the grammar's, the commands' help texts,
    what the front end imports, and every refusal of the rules and the use cases, minus those the
    chat rewords and the one only the command line raises."""
    import bot.chat.front as front_module

    modules = [chat_texts, grammar, types, front_module, messages, dates]
    for package in (bot.chat, bot.rules, bot.usecases):
        modules += [
            importlib.import_module(f"{package.__name__}.{m.name}")
            for m in pkgutil.iter_modules(package.__path__)
        ]
    found: list[tuple[str, Msg]] = []
    for module in modules:
        found += [
            (f"{module.__name__}.{n}", v)
            for n, v in vars(module).items()
            if isinstance(v, Msg) and v is not messages.M_PLATFORM_BINDS_GROUPS  # groups create
        ]
    for command in cmd.COMMANDS.values():
        for field in ("syntax", "summary", "usage", "who", "details"):
            value = getattr(command, field)
            if value is not None:
                found.append((f"{command.__name__}.{field}", value))
    return [(name, m) for name, m in found if m not in chat_texts.CHAT_WORDING]


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_chat_message_sends_anyone_to_the_command_line(lang: str) -> None:
    said = _chat_messages()
    assert len(said) > 150
    wrong = [f"{name}: {m(lang)}" for name, m in said if COMMAND_LINE.search(m(lang))]
    assert not wrong, "\n".join(wrong)


SESSION = [
    ("acc-unknown", "hallo"),
    ("acc-unknown", "/help"),
    ("acc-unknown", "/feest"),
    ("acc-unknown", "/melden iets"),
    ("p-2b-01", "hallo?"),
    ("p-2b-01", "/help"),
    ("p-2b-01", "/help huiswerk"),
    ("p-2b-01", "/huiswerk 2B wiskunde morgen Opgave 3"),
    ("p-2b-01", "/taal"),
    ("p-2b-01", "/taal xx"),
    ("p-2b-01", "/start"),
    ("p-2b-01", "/start ONBEKEND"),
    ("t-devries", "/huiswerk 9Z wiskunde morgen Opgave 3"),
    ("t-devries", "/huiswerk 2B wiskunde morgen " + "x" * 5000),
    ("t-devries", "/lesuitval 2B morgen 3-1"),
    ("t-devries", "/huiswerk 2B wiskunde 2026-01-05 Opgave 3"),
    ("t-devries", "/uitje 2B 2026-11-01 Naar Naturalis"),
    ("t-devries", "/koppel 2B"),
    ("t-devries", "/intrekken 999"),
    ("t-devries", "/intrekken"),
    ("t-devries", "/correctie 999 Nieuwe tekst"),
    ("t-devries", "/correctie 12"),
    ("t-devries", "/planning 2B"),
    ("t-devries", "/help"),
    *(("t-devries", f"/help {name}") for name in cmd.COMMANDS),
    ("t-devries", "/taal en"),
    ("t-devries", "/homework 9Z maths tomorrow Exercise 3"),
    ("t-devries", "/withdraw 999"),
    ("t-devries", "/help"),
    ("t-devries", "what?"),
]


async def test_no_reply_in_a_scripted_session_sends_anyone_to_the_command_line(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    await link(ctx, "t-devries")
    replies = []
    for account, text in SESSION:
        reply = await front.handle("console", account, text)
        replies += [(text, answer) for answer in reply.texts]
    assert len(replies) >= len(SESSION)
    wrong = [f"{text!r} -> {answer!r}" for text, answer in replies if COMMAND_LINE.search(answer)]
    assert not wrong, "\n".join(wrong)
    said = "\n".join(answer for _, answer in replies)
    assert "Klas '9Z' bestaat niet. Gebruik de klascode, bijvoorbeeld 2B." in said
    assert "There is no class '9Z'. Use the class code, e.g. 2B." in said


def test_command_word_follows_the_catalogue() -> None:
    assert command_word(cmd.Withdraw, "nl") == "/intrekken"
    assert command_word(cmd.Withdraw, "en", "!") == "!withdraw"


async def test_an_unknown_command_in_the_group_gets_the_private_answer(
    ctx: Context, front: ChatFrontEnd
) -> None:
    group = await groups_uc.create_group(ctx, "2B", "console")
    await link(ctx, "t-devries")
    private = await front.handle("console", "t-devries", "/huiswrk 2B")
    in_group = await front.handle(
        "console", "t-devries", "/huiswrk 2B", chat_id=group.chat_id, in_group=True
    )
    assert in_group.delete_original
    assert in_group.texts == private.texts
    assert "/huiswerk" in in_group.texts[0]  # what was meant, for someone who may use it

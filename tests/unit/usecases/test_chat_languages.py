"""One language per person (issue 10, part 5): `/taal` chooses it, the roster may set it, the school
has the default, and the words of a command never change it. Replies, e-mails and letters follow
the person they are for."""

from __future__ import annotations

from dataclasses import replace

from bot.chat.front import ChatFrontEnd
from bot.chat.texts import M_LANGUAGE_IS, M_LANGUAGE_SET, M_NOT_UNDERSTOOD_STRANGER
from bot.dispatch import Dispatcher
from bot.domain import AnnouncementDraft, Kind, RosterSnapshot
from bot.messages import M_LINKED, M_NOT_LINKED, M_NOTHING_TO_CONFIRM
from bot.rules.kinds import kind_title
from bot.usecases import announcing, preferences
from bot.usecases import roster as roster_uc
from bot.usecases.context import Context
from tests.unit.usecases.conftest import (
    TOMORROW,
    FakeMailer,
    FakePrinter,
    add_invite,
    events,
    homework,
    link,
    person,
)

AYSE = "ayse.celik@mail.example"  # Milan's guardian (g-06); Milan is 12: his mail goes to her
SANNE = "sanne@thart.example"  # Lotte's guardian (g-08)
KHADIJA, YOUSSEF = "khadija.elamrani@mail.example", "y.elamrani@mail.example"  # Noor's (g-03/04)
LUCAS = "lucas.vandenberg@leerling.passie-utrecht.example"  # 16, in 4C: his own address
DAAN_HOME = "Oudegracht 112"  # Daan's guardian g-02: an address, no e-mail


async def set_language(ctx: Context, person_id: str, language: str | None) -> None:
    await preferences.set_language(ctx, person_id, language, source="test")


# --- replies --------------------------------------------------------------------------------------


async def test_an_english_alias_does_not_switch_a_dutch_teacher_to_english(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    [malformed] = (await front.handle("console", "t-devries", "/homework 2B")).texts
    assert malformed.startswith("Het vak ontbreekt.")
    assert malformed.endswith("Zo werkt het: /huiswerk 2B wiskunde vrijdag Opgave 1 tot en met 12 "
                              "van paragraaf 3.2")  # fmt: skip
    [unknown] = (await front.handle("console", "t-devries", "/cancel 2B")).texts
    assert unknown.startswith("/cancel ken ik niet.")
    reply = await front.handle("console", "t-devries", "/cancelled 2B tomorrow 3 maths")
    assert reply.announcement_id is not None
    assert any(text.startswith(f"Bericht {reply.announcement_id} voor 2B") for text in reply.texts)


async def test_taal_en_is_stored_and_every_later_reply_is_english(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "t-devries")
    reply = await front.handle("console", "t-devries", "/taal en")
    assert reply.texts == [M_LANGUAGE_SET("en", language="English")]
    assert (await person(ctx, "t-devries")).language == "en"
    [event] = await events(ctx, "language-set", "t-devries")
    assert event.details["language"] == "en"
    # A Dutch command word does not switch back either.
    [malformed] = (await front.handle("console", "t-devries", "/huiswerk 2B")).texts
    assert malformed.startswith("The subject is missing.")
    assert await front.language_of("console", "t-devries") == "en"
    assert (await front.confirm("console", "t-devries")).texts == [M_NOTHING_TO_CONFIRM("en")]


async def test_language_back_to_dutch(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "p-2b-01")
    await front.handle("console", "p-2b-01", "/language en")
    reply = await front.handle("console", "p-2b-01", "!taal Nederlands")
    assert reply.texts == [M_LANGUAGE_SET("nl", language="Nederlands")]
    assert reply.texts[0] == "Vanaf nu gebruik ik het Nederlands in antwoorden, e-mails en brieven."
    assert (await person(ctx, "p-2b-01")).language == "nl"


async def test_taal_alone_says_which_language_and_the_choices(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "g-01")
    reply = await front.handle("console", "g-01", "/taal")
    assert reply.texts == [
        M_LANGUAGE_IS(
            "nl", language="Nederlands", command="/taal", choices="nl (Nederlands), en (Engels)"
        )  # fmt: skip
    ]
    assert (await person(ctx, "g-01")).language is None  # asking changes nothing


async def test_a_language_without_a_catalogue_is_refused(ctx: Context, front: ChatFrontEnd) -> None:
    await link(ctx, "g-01")
    [text] = (await front.handle("console", "g-01", "/taal fr")).texts
    assert text.startswith(
        "'fr' is geen taal die ik spreek; kies uit: nl (Nederlands), en (Engels)."
    )
    assert (await person(ctx, "g-01")).language is None


async def test_a_stranger_cannot_choose_a_language(ctx: Context, front: ChatFrontEnd) -> None:
    reply = await front.handle("console", "acc-unknown", "/taal en")
    assert reply.texts == [M_NOT_LINKED("nl")]


async def test_a_stranger_hears_the_schools_language(ctx: Context, front: ChatFrontEnd) -> None:
    ctx.policy = replace(ctx.policy, language="en")
    reply = await front.handle("console", "acc-unknown", "hello?")
    assert reply.texts == [M_NOT_UNDERSTOOD_STRANGER("en")]
    assert await front.language_of("console", "acc-unknown") == "en"


async def test_linking_answers_in_the_linked_persons_language(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await set_language(ctx, "p-2b-03", "en")
    await add_invite(ctx, "p-2b-03", "NOORCODE")
    reply = await front.handle("console", "acc-noor", "/start NOORCODE")
    assert reply.texts[0] == M_LINKED("en", name="Noor")


async def test_a_stored_language_without_a_catalogue_falls_back_to_the_school(
    ctx: Context, front: ChatFrontEnd
) -> None:
    await link(ctx, "p-2b-01")
    await set_language(ctx, "p-2b-01", "fr")  # e.g. a catalogue that was removed since
    [text] = (await front.handle("console", "p-2b-01", "/huiswerk 2B wiskunde morgen x")).texts
    assert text.startswith("Alleen docenten mogen /huiswerk gebruiken.")


# --- the roster's language and a re-import -----------------------------------------------------


def with_languages(snapshot: RosterSnapshot, **languages: str | None) -> RosterSnapshot:
    persons = tuple(
        replace(p, language=languages[p.id.replace("-", "_")])
        if p.id.replace("-", "_") in languages
        else p
        for p in snapshot.persons
    )
    return replace(snapshot, persons=persons)


async def test_the_roster_sets_a_language_and_an_empty_one_keeps_the_persons_choice(
    ctx: Context, snapshot: RosterSnapshot
) -> None:
    exported = with_languages(snapshot, g_01="en")
    await roster_uc.import_roster(ctx, exported)
    assert (await person(ctx, "g-01")).language == "en"

    await set_language(ctx, "p-2b-03", "en")  # nothing about Noor in contacts.csv
    await set_language(ctx, "g-01", "nl")  # the roster says en for Marieke
    changes = await roster_uc.import_roster(ctx, exported)
    assert (await person(ctx, "p-2b-03")).language == "en"  # her own choice stays
    assert (await person(ctx, "g-01")).language == "en"  # the school's records win
    assert "p-2b-03" not in changes.updated.get("persons", [])


# --- e-mail and letters -----------------------------------------------------------------------


async def announce_and_dispatch(
    ctx: Context, dispatcher: Dispatcher, draft: AnnouncementDraft
) -> None:
    await announcing.announce(ctx, draft)
    await dispatcher.run_once()


async def test_each_mail_speaks_its_readers_language(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await set_language(ctx, "g-06", "en")
    await announce_and_dispatch(ctx, dispatcher, homework())
    [to_ayse] = mailer.to(AYSE)
    assert to_ayse.lang == "en"
    assert to_ayse.notice.kind_title == kind_title(Kind.HOMEWORK, "en") == "Homework"  # type: ignore[attr-defined]
    [to_sanne] = mailer.to(SANNE)
    assert to_sanne.lang == "nl"
    assert to_sanne.notice.kind_title == "Huiswerk"  # type: ignore[attr-defined]


async def test_a_pupils_own_mail_speaks_the_pupils_language(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await set_language(ctx, "p-4c-01", "en")
    await set_language(ctx, "g-01", "nl")
    draft = AnnouncementDraft("4C", "t-jansen", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    await announce_and_dispatch(ctx, dispatcher, draft)
    [to_lucas] = mailer.to(LUCAS)
    assert to_lucas.lang == "en"


async def test_one_mail_to_guardians_of_two_languages_speaks_the_schools(
    ctx: Context, dispatcher: Dispatcher, mailer: FakeMailer
) -> None:
    await set_language(ctx, "g-03", "en")
    await announce_and_dispatch(ctx, dispatcher, homework())
    [to_both] = mailer.to(KHADIJA)
    assert set(to_both.to) == {KHADIJA, YOUSSEF}
    assert to_both.lang == "nl"

    await set_language(ctx, "g-04", "en")
    trip = AnnouncementDraft("2B", "t-devries", Kind.TRIP, date=TOMORROW, text="Naar Naturalis.")
    await announce_and_dispatch(ctx, dispatcher, trip)
    assert [m.lang for m in mailer.to(KHADIJA)] == ["nl", "en"]


async def test_a_letter_speaks_its_recipients_language(
    ctx: Context, dispatcher: Dispatcher, printer: FakePrinter
) -> None:
    await set_language(ctx, "g-02", "en")
    await announce_and_dispatch(ctx, dispatcher, homework())
    [letter] = printer.to(DAAN_HOME)
    assert letter.lang == "en"
    assert letter.date_text == "Monday 23 November 2026"
    [item] = letter.items
    assert item.title.startswith("Homework")
    others = [x for x in printer.letters if x.address.street != DAAN_HOME]
    assert others
    assert all(x.lang == "nl" for x in others)

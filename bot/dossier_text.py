"""How a dossier (`bot.usecases.dossier`) reads for a person: titled sections of rows, with
headings and labels in the reader's language. The command line prints them as tables, the PDF
writer (`adapters.post.dossier`) as a document; neither decides what a dossier says.

Values are shown as stored (a channel `email`, a reason `under-13`: the words of the delivery
report); times in the school's time zone as `2026-11-23 10:00`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import Msg
from bot.messages import role_name
from bot.usecases.dossier import Dossier

M_TITLE_PERSON = Msg("Dossier of {name}")
M_TITLE_CLASS = Msg("Dossier of class {klas}")
M_THE_CLASS = Msg("class {klas}", context="dossier")
M_INTRO = Msg(
    "Everything {school} keeps in klasbot about {whom}, made on {time} (GDPR article 15, right "
    "of access)."
)
M_NOTHING = Msg("nothing kept", context="dossier")
M_YES = Msg("yes", context="dossier")
M_NO = Msg("no", context="dossier")

S_PERSON = Msg("Personal details", context="dossier")
S_CLASS = Msg("Class", context="dossier")
S_CLASSES = Msg("Classes", context="dossier")
S_ACCOUNTS = Msg("Linked accounts", context="dossier")
S_MEMBERSHIPS = Msg("Class groups", context="dossier")
S_INVITES = Msg("Link codes", context="dossier")
S_EVENTS = Msg("Audit trail", context="dossier")
S_DELIVERIES = Msg("Messages delivered", context="dossier")
S_ANNOUNCEMENTS = Msg("Announcements written", context="dossier")
S_REPORTS = Msg("Reports", context="dossier")
S_SCHEDULES = Msg("Scheduled messages", context="dossier")
S_PSEUDONYMS = Msg("Pseudonyms", context="dossier")

L_ID = Msg("id", context="dossier")
L_NAME = Msg("name", context="dossier")
L_PREFERRED = Msg("preferred name", context="dossier")
L_ROLES = Msg("roles", context="dossier")
L_BIRTH_DATE = Msg("birth date", context="dossier")
L_EMAIL = Msg("e-mail", context="dossier")
L_ADDRESS = Msg("address", context="dossier")
L_PREFERENCE = Msg("contact preference", context="dossier")
PREFERENCES = {
    "email": Msg("e-mail, else a letter (the school's default)", context="dossier"),
    "post": Msg("letters only, never e-mail", context="dossier"),
    "none": Msg("never contact this person", context="dossier"),
}
"""contacts.csv `fallback` as the person reads it (`bot.domain.ContactPreference`)."""
ENROLLED_AS = {"student": "pupil", "teacher": "teacher"}
"""An enrollment's role (OneRoster) as the role it gives (`role_name`)."""
L_LANGUAGE = Msg("language", context="dossier")
L_SHARE = Msg("guardians receive messages (18+)", context="dossier")
L_SCHOOLS = Msg("schools", context="dossier")
L_GUARDIANS = Msg("guardians", context="dossier")
L_WARDS = Msg("guardian of", context="dossier")
L_CODE = Msg("class code", context="dossier")
L_TITLE = Msg("title", context="dossier")
L_SCHOOL = Msg("school", context="dossier")
L_PUPILS = Msg("pupils", context="dossier")
L_STAFF = Msg("staff", context="dossier")

H_CLASS = Msg("class", context="dossier")
H_ROLE = Msg("role", context="dossier")
H_MENTOR = Msg("mentor", context="dossier")
H_PLATFORM = Msg("platform", context="dossier")
H_ACCOUNT = Msg("account", context="dossier")
H_LINKED = Msg("linked", context="dossier")
H_GROUP = Msg("group", context="dossier")
H_STATE = Msg("state", context="dossier")
H_CREATED = Msg("created", context="dossier")
H_EXPIRES = Msg("expires", context="dossier")
H_USED = Msg("used", context="dossier")
H_TIME = Msg("time", context="dossier")
H_KIND = Msg("kind", context="dossier")
H_BY = Msg("by", context="dossier")
H_DETAILS = Msg("details", context="dossier")
H_ANNOUNCEMENT = Msg("announcement", context="dossier")
H_PUPIL = Msg("pupil", context="dossier")
H_CHANNEL = Msg("channel", context="dossier")
H_REASON = Msg("reason", context="dossier")
H_STATUS = Msg("status", context="dossier")
H_TEXT = Msg("text", context="dossier")
H_WHEN = Msg("when", context="dossier")
H_NEXT = Msg("next", context="dossier")
H_CANCELLED = Msg("cancelled", context="dossier")

FUNCTIONS = {
    "teacher": Msg("teacher", context="function"),
    "leadership": Msg("school leadership", context="function"),
}


@dataclass(frozen=True)
class Section:
    """A titled table. Without `headings` its rows are label–value pairs."""

    title: str
    headings: tuple[str, ...]
    rows: list[tuple[str, ...]]
    widths: tuple[int, ...] = ()
    """Relative column widths for a printed page (none: equal)."""


@dataclass(frozen=True)
class Readable:
    title: str
    intro: str
    sections: list[Section]
    empty: str
    """What an empty section says."""
    school_name: str


def readable(dossier: Dossier, lang: str, tz: ZoneInfo) -> Readable:
    """The dossier in `lang`, section by section, in the order of the JSON export."""

    def when(value: Any) -> str:
        if isinstance(value, datetime):
            return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, date):
            return value.isoformat()
        return ""

    def who(actor: Mapping[str, Any] | None) -> str:
        if not actor:
            return ""
        function = FUNCTIONS.get(str(actor.get("function")))
        name = str(actor.get("name") or actor.get("id") or "")
        return f"{name} ({function(lang)})" if function else name

    def yes(value: Any) -> str:
        return (M_YES if value else M_NO)(lang)

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    sections: list[Section] = []
    person, school_class = dossier.person, dossier.school_class
    if person is not None:
        address = person.get("address") or {}
        sections.append(
            Section(
                S_PERSON(lang),
                (),
                [
                    (L_ID(lang), person["id"]),
                    (L_NAME(lang), person["full_name"]),
                    (L_PREFERRED(lang), text(person.get("preferred_given_name"))),
                    (L_ROLES(lang), ", ".join(role_name(r, lang) for r in person["roles"])),
                    (L_BIRTH_DATE(lang), when(person.get("birth_date"))),
                    (L_EMAIL(lang), text(person.get("email"))),
                    (
                        L_ADDRESS(lang),
                        ", ".join(
                            x
                            for x in (
                                address.get("street"),
                                f"{address.get('postal_code') or ''} {address.get('city') or ''}",
                            )
                            if x and x.strip()
                        ),
                    ),
                    (
                        L_PREFERENCE(lang),
                        PREFERENCES[person["contact_preference"]](lang)
                        if person["contact_preference"] in PREFERENCES
                        else person["contact_preference"],
                    ),
                    (L_LANGUAGE(lang), text(person.get("language"))),
                    (L_SHARE(lang), yes(person.get("share_with_guardians"))),
                    (
                        L_SCHOOLS(lang),
                        ", ".join(str(s.get("name") or s["id"]) for s in person["schools"]),
                    ),
                    (L_GUARDIANS(lang), ", ".join(person["guardians"])),
                    (L_WARDS(lang), ", ".join(person["wards"])),
                ],
            )
        )
        title = M_TITLE_PERSON(lang, name=person["full_name"])
        whom = person["full_name"]
    else:
        assert school_class is not None
        school = school_class.get("school") or {}
        sections.append(
            Section(
                S_CLASS(lang),
                (),
                [
                    (L_ID(lang), school_class["id"]),
                    (L_CODE(lang), school_class["code"]),
                    (L_TITLE(lang), school_class["title"]),
                    (L_SCHOOL(lang), text(school.get("name") or school.get("id"))),
                    (L_PUPILS(lang), str(school_class["pupils"])),
                    (L_STAFF(lang), str(school_class["staff"])),
                ],
            )
        )
        title = M_TITLE_CLASS(lang, klas=school_class["code"])
        whom = M_THE_CLASS(lang, klas=school_class["code"])

    def table(
        heading: Msg, headings: Sequence[Msg], rows: list[tuple[str, ...]], widths: Sequence[int]
    ) -> Section:
        return Section(heading(lang), tuple(h(lang) for h in headings), rows, tuple(widths))

    if person is not None:
        sections += [
            table(
                S_CLASSES,
                (H_CLASS, L_TITLE, H_ROLE, H_MENTOR),
                [
                    (
                        text(c["code"] or c["id"]),
                        text(c["title"]),
                        role_name(ENROLLED_AS.get(c["role"], c["role"]), lang),
                        yes(c["mentor"]),
                    )
                    for c in dossier.classes
                ],
                (2, 4, 2, 1),
            ),
            table(
                S_ACCOUNTS,
                (H_PLATFORM, H_ACCOUNT, H_LINKED),
                [(a["platform"], a["account_id"], when(a["linked_at"])) for a in dossier.accounts],
                (2, 4, 3),
            ),
            table(
                S_MEMBERSHIPS,
                (H_GROUP, H_CLASS, H_PLATFORM, H_STATE),
                [
                    (str(m["group"]), text(m["class"]), text(m["platform"]), m["state"])
                    for m in dossier.memberships
                ],
                (1, 2, 2, 2),
            ),
            table(
                S_INVITES,
                (H_CREATED, H_EXPIRES, H_USED, H_STATE),
                [
                    (
                        when(i["created_at"]),
                        when(i["expires_at"]),
                        when(i["used_at"]),
                        i["state"],
                    )
                    for i in dossier.invites
                ],
                (3, 3, 3, 2),
            ),
        ]
    sections.append(
        table(
            S_EVENTS,
            (H_TIME, H_KIND, H_BY, H_DETAILS),
            [
                (when(e["at"]), e["kind"], who(e["actor"]), _details(e["details"]))
                for e in dossier.events
            ],
            (3, 3, 3, 7),
        )
    )
    if person is not None:
        sections.append(
            table(
                S_DELIVERIES,
                (H_TIME, H_ANNOUNCEMENT, H_KIND, H_CLASS, H_PUPIL, H_CHANNEL, H_REASON, H_STATUS),
                [
                    (
                        when(d["sent_at"] or d["due_at"] or d["created_at"]),
                        text(d["announcement"]),
                        text(d["kind"]),
                        text(d["class"]),
                        text(d["pupil"]),
                        d["channel"],
                        text(d["reason"]),
                        d["status"],
                    )
                    for d in dossier.deliveries
                ],
                (3, 2, 3, 2, 3, 2, 2, 2),
            )
        )
    sections += [
        table(
            S_ANNOUNCEMENTS,
            (L_ID, H_TIME, H_CLASS, H_KIND, H_TEXT),
            [
                (
                    str(a["id"]),
                    when(a["created_at"]),
                    a["class"],
                    a["kind"],
                    f"{a['body']}\n{a['signature']}",
                )
                for a in dossier.announcements
            ],
            (1, 3, 2, 2, 8),
        ),
        table(
            S_REPORTS,
            (L_ID, H_TIME, H_KIND, H_STATE, H_TEXT),
            [
                (str(r["id"]), when(r["created_at"]), r["kind"], r["state"], text(r["text"]))
                for r in dossier.reports
            ],
            (1, 3, 2, 2, 8),
        ),
        table(
            S_SCHEDULES,
            (L_ID, H_CLASS, H_WHEN, H_TEXT, H_NEXT, H_CANCELLED),
            [
                (
                    str(s["id"]),
                    s["class"],
                    s["when"],
                    text(s["text"]),
                    when(s["next_run"]),
                    when(s["cancelled_at"]),
                )
                for s in dossier.schedules
            ],
            (1, 2, 3, 6, 3, 3),
        ),
        Section(S_PSEUDONYMS(lang), (), [("", dossier.pseudonyms_note)]),
    ]
    intro = M_INTRO(
        lang, school=dossier.school_name or "", whom=whom, time=when(dossier.generated_at)
    )
    return Readable(title, intro, sections, M_NOTHING(lang), dossier.school_name)


def _details(details: Mapping[str, Any]) -> str:
    """`key: value` pairs, one a line; empty values left out."""
    lines = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)

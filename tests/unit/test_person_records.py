"""`PersonRecords`: a roster's persons kept as the values of their fields, each a Person when
asked for, and equal to the tuple of those Persons."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapters.oneroster.reader import read_roster
from bot.domain import Address, ContactPreference, Person, Role
from bot.log_tokens import persons_tokens
from bot.person_records import PERSON_FIELDS, PersonRecords, person_record, records_of
from tests.support.processes import DEMO_ROSTER

ANNA = Person(
    "p-1",
    Role.PUPIL,
    "Anna",
    "Bos",
    "van",
    date(2012, 5, 1),
    "anna@example.org",
    Address("Dorpsstraat 1", "3511 AB", "Utrecht"),
    ContactPreference.POST,
    ("g-1", "g-2"),
    frozenset({Role.PUPIL}),
    "Ans",
    "en",
    ("org-1",),
    True,
    "anna.bos",
)


def test_a_record_is_the_person_s_fields_in_order() -> None:
    record = person_record(ANNA)
    assert len(record) == len(PERSON_FIELDS)
    assert dict(zip(PERSON_FIELDS, record, strict=True))["family_name"] == "Bos"
    assert Person(*record) == ANNA


def test_records_read_as_persons() -> None:
    other = replace(ANNA, id="p-2", given_name="Bram")
    persons = PersonRecords([person_record(ANNA), person_record(other)])
    assert len(persons) == 2
    assert persons[0] == ANNA
    assert persons[-1] == other
    assert persons[1:] == (other,)
    assert list(persons) == [ANNA, other]
    assert persons == (ANNA, other)
    assert persons == PersonRecords(list(persons.records))
    assert persons != (ANNA,)
    assert (*persons, ANNA) == (ANNA, other, ANNA)
    assert records_of(persons) is persons.records
    assert records_of((ANNA, other)) == persons.records
    assert persons_tokens(persons) == persons_tokens((ANNA, other))


def test_the_reader_keeps_records_of_the_persons_it_read() -> None:
    snapshot = read_roster(DEMO_ROSTER)
    assert isinstance(snapshot.persons, PersonRecords)
    persons = tuple(snapshot.persons)
    assert snapshot.persons == persons
    # Every record holds a Person's values as the Person keeps them: its roles hold its role.
    for record, person in zip(snapshot.persons.records, persons, strict=True):
        assert record == person_record(person)
        assert person.role in person.roles

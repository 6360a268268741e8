"""A roster's persons as records: the values of each Person's fields, one tuple each. The import
of a big roster keeps its persons this way (`RosterSnapshot.persons`) and the sync writes rows from
them; no object is made per person unless one is asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from operator import attrgetter
from typing import Any, overload

from bot.domain import Person

PERSON_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Person))
"""The fields of a Person, in order: the values of a `PersonRecords` record."""
person_record: Callable[[Person], tuple[Any, ...]] = attrgetter(*PERSON_FIELDS)
"""A person's values, in the order of `PERSON_FIELDS`."""


class PersonRecords(Sequence[Person]):
    """A roster's persons kept as the values of their fields (`PERSON_FIELDS`), one tuple each:
    the import of a big roster makes no object per person, and the sync writes rows from them
    (`records`). A Person is made when one is asked for.

    A record holds a Person's values as `Person` keeps them: its `roles` include its `role`."""

    __slots__ = ("records",)

    def __init__(self, records: list[tuple[Any, ...]]) -> None:
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> Person: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Person, ...]: ...

    def __getitem__(self, index: int | slice) -> Person | tuple[Person, ...]:
        if isinstance(index, slice):
            return tuple(Person(*record) for record in self.records[index])
        return Person(*self.records[index])

    def __iter__(self) -> Iterator[Person]:
        return (Person(*record) for record in self.records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PersonRecords):
            return self.records == other.records
        if isinstance(other, Sequence):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PersonRecords({len(self.records)} persons)"


def records_of(persons: Sequence[Person]) -> list[tuple[Any, ...]]:
    """The records (`PERSON_FIELDS`) of `persons`, whichever way they are kept."""
    if isinstance(persons, PersonRecords):
        return persons.records
    return list(map(person_record, persons))

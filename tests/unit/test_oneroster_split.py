"""A OneRoster list cell (`agentSourcedIds`, `orgSourcedIds`) gives the same ids however it is
split: the quick way for a cell of plain ids, item by item for anything else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.oneroster.values import split, split_ids


@given(st.text(alphabet=st.sampled_from(list("ab1-, \t")), max_size=20))
def test_split_ids_is_split(value: str) -> None:
    assert split_ids(value) == tuple(split(value))


def test_examples() -> None:
    assert split_ids("g-1,g-2") == ("g-1", "g-2")
    assert split_ids("g-1, g-2") == ("g-1", "g-2")
    assert split_ids(",g-1,,g-2,") == ("g-1", "g-2")
    assert split_ids(" ") == ()

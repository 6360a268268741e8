"""Letters are written a few households per transaction (`household_chunks`), but the households
one copy goes to are always written and recorded together."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.dispatch.channels import household_chunks
from bot.domain import Channel, Delivery, DeliveryStatus, Recipient


def row(n: int) -> Delivery:
    return Delivery(n, 1, f"p-{n}", Channel.POST, None, DeliveryStatus.PENDING)


def households(
    spec: dict[str, list[int]],
) -> dict[str, tuple[Recipient, list[Delivery]]]:
    return {key: (Recipient("g", "G"), [row(n) for n in ids]) for key, ids in spec.items()}


def test_households_of_one_copy_stay_together() -> None:
    spec = {f"h{n:02d}": [n] for n in range(12)}
    spec["h03"].append(100)
    spec["h11"].append(100)  # a pupil whose guardians live apart: h03 and h11
    chunks = household_chunks(households(spec), 5)
    [with_both] = [c for c in chunks if "h03" in c]
    assert "h11" in with_both
    assert sorted(k for c in chunks for k in c) == sorted(spec)
    assert all(c == sorted(c) for c in chunks)


@given(
    st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3),
        st.lists(st.integers(0, 30), min_size=1, max_size=4),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 8),
)
def test_every_household_once_and_every_copy_in_one_chunk(
    spec: dict[str, list[int]], size: int
) -> None:
    chunks = household_chunks(households(spec), size)
    flat = [k for c in chunks for k in c]
    assert sorted(flat) == sorted(spec)  # each once
    for n in {n for ids in spec.values() for n in ids}:
        holders = {i for i, c in enumerate(chunks) for k in c if n in spec[k]}
        assert len(holders) == 1
    # Only a group that must stay together makes a chunk bigger than `size`.
    for c in chunks:
        if len(c) > size:
            ids = [set(spec[k]) for k in c]
            assert any(a & b for i, a in enumerate(ids) for b in ids[i + 1 :])

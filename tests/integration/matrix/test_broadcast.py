"""The bot survives Synapse's default rate limits when announcing to many rooms (issue 5)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.matrix.broadcast import run_broadcast
from tests.integration.matrix.synapse import Synapse

# More rooms than `rc_message`'s burst of 10, so the homeserver must tell the bot to slow down.
ROOMS = 12


async def test_every_room_gets_its_announcement_exactly_once_despite_rate_limits(
    synapse_default_limits: Synapse, tmp_path: Path
) -> None:
    result = await run_broadcast(synapse_default_limits, tmp_path, rooms=ROOMS, within=120)
    assert result.statuses == {"sent": ROOMS}, result
    assert result.received == ROOMS, result  # one message per room, none twice
    assert result.rate_limited >= 1, result  # the limits were really met …
    assert result.retried >= 1, result  # … and the outbox retried what they turned away


async def test_pacing_to_the_homeserver_s_rate_avoids_rate_limit_answers(
    synapse_default_limits: Synapse, tmp_path: Path
) -> None:
    # Synapse's default rc_message is 0.2/s with bursts of 10: pace a little under it (the two
    # clocks start apart) and nothing bounces.
    result = await run_broadcast(
        synapse_default_limits, tmp_path, rooms=ROOMS, rate_per_second=0.18, within=120
    )
    assert result.statuses == {"sent": ROOMS}, result
    assert result.received == ROOMS, result
    assert result.rate_limited == 0, result

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.oneroster.reader import read_roster
from bot import bootstrap
from bot.clock import FrozenClock
from bot.usecases import roster as roster_uc
from config.settings import Settings
from tests.conftest import DEMO_ROSTER


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[bootstrap.App]:
    """A klasbot on a fresh, migrated database holding the demo school."""
    await bootstrap.migrate(settings)
    async with bootstrap.build(settings, clock=clock) as built:
        await roster_uc.import_roster(built.ctx, read_roster(DEMO_ROSTER))
        yield built

"""Benchmark: announce to many Matrix class rooms on a Synapse with its DEFAULT rate limits.

    .venv/bin/python bench/matrix_broadcast.py [--rooms 20] [--rate 0.18] [--room-version 12]

Starts a throw-away Synapse on loopback (installed once into a cached virtualenv, see
tests/integration/matrix/synapse.py), creates ROOMS class rooms with one pupil each (set-up with
the bot exempt from rate limits), then announces to every class at once and lets the outbox
deliver. Prints rooms, messages, wall time and the rate-limit (M_LIMIT_EXCEEDED) answers the bot
received; every message must arrive exactly once. `--rate` paces the bot's own sends
(`matrix.rate_per_second`) instead of relying on the homeserver's answers.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.matrix.broadcast import run_broadcast  # noqa: E402
from tests.integration.matrix.synapse import running_synapse  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20, help="class rooms to announce to (20)")
    parser.add_argument(
        "--rate", type=float, default=None, help="pace the bot's sends (per second)"
    )
    parser.add_argument("--room-version", default="12", help="the server's default room version")
    parser.add_argument(
        "--within", type=float, default=600.0, help="give up after this many seconds"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="klasbot-bench-") as tmp:
        started = time.monotonic()
        with running_synapse(
            Path(tmp) / "synapse", room_version=args.room_version, relaxed=False, log=print
        ) as server:
            print(
                f"Synapse {server.version} on {server.base_url} (default rate limits), "
                f"up in {time.monotonic() - started:.1f} s"
            )
            result = asyncio.run(
                run_broadcast(
                    server,
                    Path(tmp) / "klasbot",
                    rooms=args.rooms,
                    rate_per_second=args.rate,
                    within=args.within,
                    log=print,
                )
            )
    pacing = f"{args.rate}/s" if args.rate else "none (homeserver answers only)"
    print(f"pacing:                {pacing}")
    for line in result.lines():
        print(line)
    ok = result.statuses == {"sent": args.rooms} and result.received == args.rooms
    print(
        "result:                " + ("every room got its message exactly once" if ok else "FAILED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

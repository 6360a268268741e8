"""Rule 5's cost: `find_personal_data` on 2,000-character texts, against the bare `re` work.

Run: `.venv/bin/python bench/content.py`. Prints, per text, the median time of one check (the
school's name index already built, as it is cached), of the bare regular expressions the check
runs over the same text, and their ratio; and the time to build the index of a school of 1,500
pupils. Not a test: timings belong here, never in a timed unit test. `python -m bench --only
content` gives the suite's rows (`measure`).
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.suite import Row  # noqa: E402
from bot.domain import Person, Role  # noqa: E402
from bot.rules import content, names  # noqa: E402

GIVEN = "Daan Zoë Sem Bas Lucas Sanne Fleur Julia Storm Yusuf Ayşe Thijs Noor Milan Noah Mila Emma"
FAMILY = "de Jong|Bakker|Hart|van den Berg|Bos|van der Meer|de Wit|Yılmaz|Demir|van Dijk|Smit"


def school(n: int = 1500) -> list[Person]:
    rng = random.Random(1)
    givens, families = GIVEN.split(), FAMILY.split("|")
    return [
        Person(f"p{i}", Role.PUPIL, f"{rng.choice(givens)}{i}", f"{rng.choice(families)}{i % 97}")
        for i in range(n)
    ]


def texts() -> dict[str, str]:
    prose = (
        "Lesuitval 2B: dinsdag 1 december 2026, 3e uur (wiskunde). Leer over het hart en de "
        "bloedsomloop, blz. 134-135. De les van 08:30-10:15 in lokaal 2.14 vervalt. "
    )
    return {
        "prose": (prose * 20)[:2000],
        "digits and spaces": ("1 2 3 4 5 6 7 8 9 0 " * 100)[:2000],
        "digit pairs": ("06-12-34 " * 250)[:2000],
        "one word": "a" * 2000,
        "dotted words": ("jan.de.vries " * 200)[:2000],
    }


BARE = [
    content._EMAIL,
    content._IBAN_START,
    content._NUMBER_TOKEN,
    content._DATES_AND_TIMES,
    re.compile(r"[^\W\d_]+"),
]


def bare(text: str) -> None:
    for pattern in BARE:
        for _ in pattern.finditer(text):
            pass


def median(fn: Callable[[], object], repeat: int = 30) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(quick: bool = False) -> list[Row]:
    """The suite's rows: the check of a 2,000-character text against the bare regular
    expressions, for prose and for the text where the check costs most (the name index of the
    school built and cached); "doubled": the same text at 4,000 characters."""
    pupils = school(300 if quick else 1500)
    repeat = 5 if quick else 30
    names._cached_index.cache_clear()
    content.name_index(pupils)
    measured = {}
    for name, text in texts().items():
        check = median(lambda text=text: content.find_personal_data(text, pupils), repeat)
        regex = median(lambda text=text: bare(text), repeat)
        measured[name] = (check, regex, text)
    worst = max((n for n in measured if n != "prose"), key=lambda n: measured[n][0])
    rows = []
    for name in ("prose", worst):
        check, regex, text = measured[name]
        double = (text * 2)[:4000]
        doubled = median(lambda double=double: content.find_personal_data(double, pupils), repeat)
        rows.append(
            Row(
                work=(
                    f"rule 5 (personal data) on a 2,000-character text ({name}), "
                    f"school of {len(pupils):,} pupils"
                ),
                library=f"the same regular expressions (re): {regex * 1000:.2f} ms",
                klasbot=f"find_personal_data: {check * 1000:.2f} ms",
                ratio=f"{check / regex:.1f}x time",
                doubled=f"x{doubled / check:.2f}",
            )
        )
    return rows


def main() -> None:
    pupils = school()
    names._cached_index.cache_clear()
    build = median(lambda: (names._cached_index.cache_clear(), content.name_index(pupils)), 5)
    print(f"name index of {len(pupils)} pupils: built in {build * 1000:.1f} ms (then cached)")
    content.name_index(pupils)
    print(f"{'text (2,000 chars)':<20} {'check ms':>9} {'bare re ms':>11} {'ratio':>7}")
    for name, text in texts().items():
        check = median(lambda text=text: content.find_personal_data(text, pupils))
        regex = median(lambda text=text: bare(text))
        print(f"{name:<20} {check * 1000:9.2f} {regex * 1000:11.3f} {check / regex:7.1f}")
    long = texts()["digits and spaces"] * 10
    tenfold = median(lambda: content.find_personal_data(long, pupils), 5)
    print(f"digits and spaces, 20,000 chars: {tenfold * 1000:.1f} ms (linear: about 10x)")


if __name__ == "__main__":
    main()

"""`klasbot announce` as the admin uses it (real processes, the demo school, Monday 23 November
2026 10:00): a date in the past and a repeat are refused with one line and exit code 1, `--again`
sends a repeat anyway, and the letters that cannot arrive in time come with a call list, in the
human output and in `--json`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import demo_school, process_env, run_klasbot

CANCEL = ("announce", "--class", "2B", "--as", "t-devries", "--kind", "lesson-cancelled")


def test_a_date_in_the_past_is_refused_with_one_line(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    demo_school(env, tmp_path)
    proc = run_klasbot(
        env, *CANCEL, "--date", "2026-11-20", "--period", "3", cwd=tmp_path, ok=False
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line == (
        "klasbot: Lesuitval: vrijdag 20 november 2026 is al voorbij; geef vandaag of een latere "
        "datum (optie --date)."
    )


def test_a_repeat_needs_again_and_late_letters_come_with_a_call_list(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    demo_school(env, tmp_path)
    tomorrow = (*CANCEL, "--date", "morgen", "--period", "3", "--subject", "wiskunde")

    first = json.loads(run_klasbot(env, *tomorrow, "--json", cwd=tmp_path).stdout)
    assert first["id"] == 1
    assert first["deliveries"]["post"] == 2  # kept: the letters are the record
    assert first["late_letters"] == {
        "date": "2026-11-24",
        "arrives_on": "2026-11-25",
        "call_list_mailed": True,
    }
    assert first["call_list"] == [
        {
            "pupil": "p-2b-02",
            "name": "Daan de Jong",
            "guardians": ["Peter de Jong"],
            "address": "Oudegracht 112, 3511 AX Utrecht",
        },
        {
            "pupil": "p-2b-04",
            "name": "Sem Bakker",
            "guardians": ["Ingrid Bakker"],
            "address": "Kanaalstraat 41, 3531 CE Utrecht",
        },
    ]
    assert first["unreachable"] == ["p-2b-06"]
    # The demo configures no leadership address, but its roster has the school's administrator:
    # the author and leadership are told, at 16:00.
    assert first["unreachable_told"] == {
        "author": True,
        "leadership": True,
        "at": "2026-11-23T16:00:00+01:00",
    }
    assert first["repeat_of"] is None

    refused = run_klasbot(env, *tomorrow, cwd=tmp_path, ok=False)
    assert refused.returncode == 1
    assert refused.stdout == ""
    [line] = refused.stderr.strip().splitlines()
    assert line == (
        "klasbot: niet verstuurd: bericht 1 met dezelfde klas, soort en datum is om 10:00 al "
        "verstuurd; voeg --again toe om het toch te versturen"
    )

    again = run_klasbot(env, *tomorrow, "--again", cwd=tmp_path)
    assert again.stdout == "2\n"
    said = again.stderr
    assert "opnieuw verstuurd: bericht 1 met dezelfde klas, soort en datum was om 10:00" in said
    assert "de auteur en de schoolleiding krijgen hun namen om 16:00 per e-mail" in said
    assert "een brief komt niet vóór dinsdag 24 november 2026 aan" in said
    assert "  Daan de Jong (p-2b-02): Peter de Jong; Oudegracht 112, 3511 AX Utrecht" in said
    assert "de bellijst is naar de auteur gemaild" in said

    # The call list is an e-mail to the author, once per announcement.
    run_klasbot(env, "dispatch", "--once", cwd=tmp_path)
    lists = sorted((tmp_path / "outbox").glob("late-letters-*.eml"))
    assert len(lists) == 2
    text = lists[0].read_text(encoding="utf-8")
    assert "To: j.devries@passie-utrecht.example" in text

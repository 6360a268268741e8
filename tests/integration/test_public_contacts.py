"""The school's own published contact details may appear in an announcement (rule 5 protects
people, not the school's office): `KLASBOT_SCHOOL__PUBLIC_CONTACTS`, through `klasbot announce`
as a process; anyone else's number or address is still refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import demo_school, process_env, run_klasbot

PUBLIC = "030-1234567,info@passie.example,NL91ABNA0417164300"


@pytest.mark.parametrize(
    ("text", "allowed"),
    [
        ("Vragen? Bel de administratie: 030 123 45 67.", True),
        ("Afmelden via info@passie.example, betalen op NL91 ABNA 0417 1643 00.", True),
        ("Vragen? Bel meneer op 06-12-34-56-78.", False),
        ("Mail je vragen naar jan [at] passie [dot] example.", False),
    ],
)
def test_the_schools_own_contacts_pass_and_others_do_not(
    tmp_path: Path, text: str, allowed: bool
) -> None:
    env = process_env(tmp_path, KLASBOT_SCHOOL__PUBLIC_CONTACTS=PUBLIC)
    demo_school(env, tmp_path)
    proc = run_klasbot(
        env,
        "announce",
        "--class",
        "2B",
        "--as",
        "t-devries",
        "--kind",
        "reminder",
        "--text",
        text,
        cwd=tmp_path,
        ok=False,
    )
    assert (proc.returncode == 0) is allowed, proc.stderr
    assert "Traceback" not in proc.stderr

"""Bad configuration and bad command-line and demo input, through real processes: one line that
says what and where, a non-zero exit, never a traceback (issue 9)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.processes import KLASBOT, demo_school, process_env, run_klasbot


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("command", "env", "needles"),
    [
        (
            ["dispatch", "--once"],
            {"KLASBOT_DISPATCH__BATCH_SIZE": "0"},
            ["KLASBOT_DISPATCH__BATCH_SIZE", "1", "10000"],
        ),
        (
            ["dispatch", "--once"],
            {"KLASBOT_DISPATCH__LEASE_SECONDS": "-1"},
            ["dispatch.lease_seconds", "'-1'"],
        ),
        (
            ["run"],
            {"KLASBOT_SCHOOL__URGENT_FROM": "25:00"},
            ["KLASBOT_SCHOOL__URGENT_FROM", "UU:MM"],
        ),
        (
            ["run"],
            {"KLASBOT_SCHOOL__QUIET_HOURS": "21-07"},
            ["KLASBOT_SCHOOL__QUIET_HOURS", "21:00-07:00"],
        ),
        (
            ["classes"],
            {"KLASBOT_SCHOOL__INVITE_VALID_DAYS": "-14"},
            ["school.invite_valid_days", "365"],
        ),
        (["classes"], {"KLASBOT_SCHOOL__URGENT_KINDS": "feest"}, ["school.urgent_kinds", "feest"]),
        (["classes"], {"KLASBOT_MAIL__SMTP_PORT": "70000"}, ["KLASBOT_MAIL__SMTP_PORT", "65535"]),
        (["classes"], {"KLASBOT_MAIL__FROM": "klasbot"}, ["KLASBOT_MAIL__FROM", "e-mailadres"]),
        (["classes"], {"KLASBOT_SCHOOL__LEADERSHIP_EMAILS": "a@x.org,nope"}, ["nope"]),
        (
            ["classes"],
            {"KLASBOT_DATABASE_URL": "mysql://db/k"},
            ["KLASBOT_DATABASE_URL", "postgresql+asyncpg"],
        ),
        (
            ["classes"],
            {"KLASBOT_TELEGRAM__BASE_URL": "api.telegram.org"},
            ["KLASBOT_TELEGRAM__BASE_URL"],
        ),
        (
            ["classes"],
            {"KLASBOT_MATRIX__HOMESERVER": "matrix.example"},
            ["KLASBOT_MATRIX__HOMESERVER"],
        ),
        (["demo"], {"KLASBOT_TELEGRAM__MIN_AGE": "9"}, ["KLASBOT_TELEGRAM__MIN_AGE", "13", "21"]),
        (
            ["db", "upgrade"],
            {"KLASBOT_SCHOOL__TIMEZONE": "Mars/Olympus"},
            ["KLASBOT_SCHOOL__TIMEZONE"],
        ),
        (
            ["announcements"],
            {"KLASBOT_TELEGRAM__TOKEN": "not a token"},
            ["KLASBOT_TELEGRAM__TOKEN"],
        ),
    ],
)
def test_bad_settings_stop_every_command_at_start_up(
    tmp_path: Path, command: list[str], env: dict[str, str], needles: list[str]
) -> None:
    proc = run_klasbot(process_env(tmp_path, **env), *command, cwd=tmp_path, ok=False, timeout=60)
    line = _one_line(proc)
    for needle in needles:
        assert needle in line, line
    assert "not a token" not in line  # a secret is never repeated


def test_a_batch_size_of_zero_no_longer_exits_zero_with_everything_pending(tmp_path: Path) -> None:
    env = process_env(tmp_path)
    demo_school(env, tmp_path, announce="Gymspullen mee")
    env["KLASBOT_DISPATCH__BATCH_SIZE"] = "0"
    line = _one_line(run_klasbot(env, "dispatch", "--once", cwd=tmp_path, ok=False))
    assert "dispatch.batch_size" in line


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A migrated database with the demo school and one announcement (id 1)."""
    tmp = tmp_path_factory.mktemp("school")
    env = process_env(tmp)
    demo_school(env, tmp, announce="Gymspullen mee")
    return tmp, env


ANNOUNCE = ["announce", "--class", "2B", "--as", "t-devries"]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["deliveries", "9223372036854775808"], ["ANNOUNCEMENT_ID", "9223372036854775807"]),
        (["deliveries", "99999999999999999999999999999"], ["ANNOUNCEMENT_ID"]),
        (["deliveries", "-1"], ["-1"]),
        (["deliveries", "0"], ["ANNOUNCEMENT_ID", "'0'"]),
        (["deliveries", "abc"], ["ANNOUNCEMENT_ID", "'abc'"]),
        (["deliveries", "1.5", "--json"], ["ANNOUNCEMENT_ID", "'1.5'"]),
        (["deliveries"], ["ANNOUNCEMENT_ID"]),
        (["deliveries", "1", "2"], ["2"]),
        (["deliveries", "1", "--jsno"], ["--jsno"]),
        (["deliveries", "9223372036854775807"], ["9223372036854775807"]),  # in range: not found
        (["nosuch"], ["nosuch"]),
        (["announce", "--class"], ["--class"]),
        (["groups", "create", "--platform", "console"], ["--class"]),
        ([*ANNOUNCE, "--kind", "trip", "--date", "2026-02-30", "--text", "x"], ["2026-02-30"]),
        ([*ANNOUNCE, "--kind", "reminder", "--at", "0001-01-01 00:00", "--text", "x"], ["--at"]),
        ([*ANNOUNCE, "--kind", "reminder", "--at", "9999-12-31 23:59", "--text", "x"], ["--at"]),
        ([*ANNOUNCE, "--kind", "reminder", "--at", "2026-13-01 08:00", "--text", "x"], ["--at"]),
        ([*ANNOUNCE, "--kind", "reminder", "--at", "elke maandag 08:00", "--text", "x"], ["--at"]),
        ([*ANNOUNCE, "--kind", "feest", "--text", "x"], ["feest"]),
        (
            [*ANNOUNCE, "--kind", "lesson-cancelled", "--date", "morgen", "--period", "9" * 30],
            ["--period"],
        ),
        (
            ["announce", "--class", "9Z", "--as", "t-devries", "--kind", "reminder", "--text", "x"],
            ["9Z"],
        ),
        (
            ["announce", "--class", "2B", "--as", "nobody", "--kind", "reminder", "--text", "x"],
            ["nobody", "--as"],
        ),
        (
            [
                "announce",
                "--class",
                "2B\udcff",
                "--as",
                "t-devries",
                "--kind",
                "reminder",
                "--text",
                "x",
            ],
            ["UTF-8"],
        ),
        ([*ANNOUNCE, "--kind", "reminder", "--text", "caf\udce9"], ["UTF-8"]),
        (["groups", "create", "--class", "2B", "--platform", "pigeon"], ["pigeon"]),
        (["invites", "create", "--person", "nobody"], ["nobody"]),
        (["invites", "create", "--class", "2B", "--person", "p-2b-01"], ["--class"]),
        (["letters", "mark-posted", "nope"], ["nope"]),
        (["letters", "mark-posted"], ["--all"]),
        (["roster", "import", "/nonexistent"], ["/nonexistent"]),
        (["demo", "--script", "/nonexistent"], ["/nonexistent"]),
        (["--config", "/nonexistent.toml", "classes"], ["/nonexistent.toml"]),
    ],
)
def test_bad_command_line_input_is_one_line(
    school: tuple[Path, dict[str, str]], args: list[str], needles: list[str]
) -> None:
    tmp, env = school
    line = _one_line(run_klasbot(env, *args, cwd=tmp, ok=False))
    for needle in needles:
        assert needle in line, line


def test_usage_errors_speak_the_schools_language(school: tuple[Path, dict[str, str]]) -> None:
    tmp, env = school
    line = _one_line(run_klasbot(env, "deliveries", "x", cwd=tmp, ok=False))
    assert line.startswith("klasbot deliveries: ANNOUNCEMENT_ID 'x' is geen nummer")
    english = {**env, "KLASBOT_SCHOOL__LANGUAGE": "en"}
    line = _one_line(run_klasbot(english, "deliveries", "x", cwd=tmp, ok=False))
    assert line.startswith("klasbot deliveries: ANNOUNCEMENT_ID 'x' is not an id")


def _demo(
    tmp: Path, env: dict[str, str], stdin: bytes, *args: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*KLASBOT, "demo", *args],
        input=stdin,
        env=env,
        cwd=tmp,
        capture_output=True,
        timeout=120,
        check=False,
    )


def test_demo_answers_bad_input_in_one_line_and_goes_on(
    school: tuple[Path, dict[str, str]],
) -> None:
    tmp, env = school
    lines = [
        b":leveringen 9223372036854775808",
        b":leveringen -1",
        b":leveringen",
        b":leveringen abc",
        b":leveringen 999999",
        b":als",
        b":als \xff\xfe",
        b":groep",
        b":koppel",
        b":codes 9Z",
        b"\xff: hallo",
        b"t-devries: /intrekken 99999999999999999999999999",
        b":wie 2B",
    ]
    proc = _demo(tmp, env, b"\n".join(lines) + b"\n")
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in out + proc.stderr.decode("utf-8", "replace")
    assert out.count("geef een berichtnummer van 1 tot en met 9223372036854775807") == 4
    assert "klas 2B" in out  # it went on to the last line


def test_demo_script_that_is_not_utf8_is_one_line(school: tuple[Path, dict[str, str]]) -> None:
    tmp, env = school
    script = tmp / "bad.txt"
    script.write_bytes(b"p-2b-01: hoi \xff\n")
    proc = _demo(tmp, env, b"", "--script", str(script))
    assert proc.returncode != 0
    assert b"Traceback" not in proc.stdout + proc.stderr
    assert b"geen UTF-8-tekst" in proc.stdout + proc.stderr

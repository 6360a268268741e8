"""The container a board runs: the Dockerfile, .dockerignore and docker-compose.yml, read as
files (no Docker daemon here), and the image's health check run as the process it is."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from config.settings import SECRET_KEYS, _known_env_names
from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
WORKERS = ("worker-1", "worker-2")
SECRET_ENV = {f"KLASBOT_{section}__{key}".upper() for section, key in SECRET_KEYS}


# --- reading the files (also used by tests/integration/test_container_entrypoints.py) ----------


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form CMD, ENTRYPOINT or HEALTHCHECK CMD."""
    value = json.loads(arguments)
    assert isinstance(value, list), arguments
    assert all(isinstance(x, str) for x in value), arguments
    return value


def healthcheck_command(path: Path = DOCKERFILE) -> list[str]:
    """The image's HEALTHCHECK command, exactly as the Dockerfile has it."""
    [arguments] = [a for k, a in final_stage(dockerfile_instructions(path)) if k == "HEALTHCHECK"]
    _, _, command = arguments.partition(" CMD ")
    assert command, f"HEALTHCHECK without an exec-form CMD: {arguments}"
    return exec_form(command)


def env_defaults(path: Path = DOCKERFILE) -> dict[str, str]:
    """The final stage's ENV key=value pairs."""
    found: dict[str, str] = {}
    for keyword, arguments in final_stage(dockerfile_instructions(path)):
        if keyword == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                found[key] = value
    return found


def run_healthcheck(port: int, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The Dockerfile's health check as a process here, with `KLASBOT_HTTP__PORT=port` (the
    image's `python` is this interpreter)."""
    command = healthcheck_command()
    assert command[0] == "python", command
    env = {**os.environ, "KLASBOT_HTTP__PORT": str(port)}
    return subprocess.run(
        [sys.executable, *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


# --- the Dockerfile ----------------------------------------------------------------------------


def test_the_image_is_built_in_two_stages_and_keeps_only_the_virtualenv() -> None:
    instructions = dockerfile_instructions()
    stages = [a for k, a in instructions if k == "FROM"]
    assert len(stages) == 2, stages
    assert stages[0].split()[-2:] == ["AS", "builder"]
    assert stages[1] == "python:3.11-slim"
    final = final_stage(instructions)
    copies = [a for k, a in final if k == "COPY"]
    # Nothing of the sources or the build: only the builder's virtualenv.
    assert copies == ["--from=builder /opt/venv /opt/venv"]
    assert not [a for k, a in final if k == "RUN" and "pip" in a]
    assert "PATH=/opt/venv/bin:$PATH" in [a for k, a in final if k == "ENV"][0].split()


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    final = final_stage(dockerfile_instructions())
    users = [a for k, a in final if k == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    assert users[-1] not in {"root", "0", "0:0"}
    # The user is created in the image, and the data directory is its own.
    created = " ".join(a for k, a in final if k == "RUN")
    assert "useradd" in created
    assert users[-1] in created
    assert "chown" in created
    assert "/data" in created


def test_the_image_starts_the_bot_and_never_migrates_by_surprise() -> None:
    final = final_stage(dockerfile_instructions())
    [entrypoint] = [exec_form(a) for k, a in final if k == "ENTRYPOINT"]
    [cmd] = [exec_form(a) for k, a in final if k == "CMD"]
    assert entrypoint == ["klasbot"]
    assert cmd == ["run"]
    assert "upgrade" not in " ".join(entrypoint + cmd)


def test_the_health_check_asks_healthz_on_the_configured_port_without_curl() -> None:
    final = final_stage(dockerfile_instructions())
    [arguments] = [a for k, a in final if k == "HEALTHCHECK"]
    assert "--interval=" in arguments
    assert "--timeout=" in arguments
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2]
    assert "KLASBOT_HTTP__PORT" in command[2]
    assert not {"curl", "wget"} & set(re.findall(r"\w+", " ".join(command)))
    defaults = env_defaults()
    assert defaults["KLASBOT_HTTP__PORT"] == "8080"
    assert [a for k, a in final if k == "EXPOSE"] == [defaults["KLASBOT_HTTP__PORT"]]


def test_every_klasbot_variable_the_image_sets_is_a_known_setting() -> None:
    names = set(re.findall(r"KLASBOT_[A-Z0-9_]+", DOCKERFILE.read_text(encoding="utf-8")))
    assert names, "the Dockerfile names no KLASBOT_ variable"
    assert names <= _known_env_names(), names - _known_env_names()
    assert not names & SECRET_ENV


def test_the_build_context_leaves_out_secrets_and_the_working_tree() -> None:
    ignored = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".env", ".git", ".venv", "tests", "klasbot.toml"} <= ignored
    # What the builder copies is not ignored.
    instructions = dockerfile_instructions()
    builder = instructions[: len(instructions) - len(final_stage(instructions))]
    sources = {a.split()[0] for k, a in builder if k == "COPY"}
    assert sources
    assert not sources & ignored


# --- the health check as a process -------------------------------------------------------------


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        code = type(self).status if self.path == "/healthz" else 404
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Health", (_Health,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_the_health_check_passes_on_200_and_fails_otherwise(
    health_server: tuple[int, type[_Health]],
) -> None:
    port, handler = health_server
    assert run_healthcheck(port).returncode == 0
    handler.status = 503
    assert run_healthcheck(port).returncode != 0
    # Nothing listening on the port (a bot that is not up) fails as well.
    assert run_healthcheck(free_port()).returncode != 0


# --- docker-compose.yml ------------------------------------------------------------------------


def test_postgres_is_health_checked_and_keeps_its_data_in_a_named_volume() -> None:
    data = compose()
    postgres = data["services"]["postgres"]
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in " ".join(test)
    [volume] = postgres["volumes"]
    name, _, target = volume.partition(":")
    assert name in data["volumes"]
    assert target == "/var/lib/postgresql/data"


def test_migrations_run_once_in_their_own_service_before_the_workers() -> None:
    services = compose()["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in WORKERS:
        worker = services[name]
        assert worker["command"] == ["run"]
        assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    # Only `migrate` upgrades the database.
    upgrading = [n for n, s in services.items() if "upgrade" in " ".join(s.get("command", []))]
    assert upgrading == ["migrate"]


def test_each_worker_is_health_checked_on_healthz_at_its_port() -> None:
    services = compose()["services"]
    image_check = healthcheck_command()
    for name in WORKERS:
        worker = services[name]
        environment = worker["environment"]
        assert environment["KLASBOT_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["KLASBOT_HTTP__PORT"]
        check = worker["healthcheck"]
        assert check["test"][0] == "CMD"
        assert check["test"][1:] == image_check  # the image's own check, not a second one
        assert "/healthz" in " ".join(check["test"])
        published = [p.rsplit(":", 1)[-1] for p in worker["ports"]]
        assert published == [environment["KLASBOT_HTTP__PORT"]]


def test_the_workers_share_the_database_and_the_letters_and_outbox_volume() -> None:
    data = compose()
    services = data["services"]
    mounts = [tuple(services[n]["volumes"]) for n in ("migrate", *WORKERS)]
    assert len(set(mounts)) == 1
    [volume] = mounts[0]
    name, _, target = volume.partition(":")
    assert name in data["volumes"]
    for service in WORKERS:
        environment = services[service]["environment"]
        for key in ("KLASBOT_POST__LETTERS_DIR", "KLASBOT_MAIL__OUTBOX_DIR", "KLASBOT_DATA_DIR"):
            assert environment[key].startswith(target), (service, key)
    urls = {services[n]["environment"]["KLASBOT_DATABASE_URL"] for n in ("migrate", *WORKERS)}
    assert len(urls) == 1


def test_secrets_come_from_the_env_file_never_from_the_compose_file() -> None:
    services = compose()["services"]
    for name in ("migrate", *WORKERS):
        assert services[name]["env_file"] == ".env"
        environment = services[name]["environment"]
        assert not set(environment) & SECRET_ENV, name
        # The database password is interpolated from .env, never written here.
        url = environment["KLASBOT_DATABASE_URL"]
        credentials = url.split("://", 1)[1].rsplit("@", 1)[0]
        _, _, password = credentials.partition(":")
        assert re.fullmatch(r"\$\{POSTGRES_PASSWORD[^}]*\}", password), url
    assert re.fullmatch(
        r"\$\{POSTGRES_PASSWORD[^}]*\}", services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
    text = COMPOSE.read_text(encoding="utf-8")
    for secret in SECRET_ENV:
        assert f"{secret}:" not in text, secret
        assert f"{secret}=" not in text, secret


def test_every_klasbot_variable_in_the_compose_file_is_a_known_setting() -> None:
    names = set(re.findall(r"KLASBOT_[A-Z0-9_]+", COMPOSE.read_text(encoding="utf-8")))
    assert {"KLASBOT_DATABASE_URL", "KLASBOT_HTTP__PORT"} <= names
    assert names <= _known_env_names(), names - _known_env_names()

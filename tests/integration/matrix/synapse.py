"""A real Synapse homeserver on loopback, for the Matrix tests and `bench/matrix_broadcast.py`.

Synapse is installed from PyPI into its own cached virtualenv, outside the project's (it pins
its own Twisted and friends): `$KLASBOT_TEST_SYNAPSE_VENV`, default
`~/.cache/klasbot-test/synapse-venv`. The first use takes about half a minute; later uses reuse it.

Each server gets a directory of its own: SQLite, one HTTP listener on 127.0.0.1 serving the client
(and admin) API, no federation listener and no outbound traffic (`trusted_key_servers: []`, no URL
previews, no stats, an empty federation whitelist). Test users are registered through the
shared-secret admin API. Standard library only, so the bench can use it without pytest.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SYNAPSE_REQUIREMENT = "matrix-synapse>=1.135"  # 1.135 added room version 12
VENV_ENV = "KLASBOT_TEST_SYNAPSE_VENV"
SERVER_NAME = "klasbot.test"

# Large enough that no test or set-up step is ever told to slow down.
_FAST = {"per_second": 1000, "burst_count": 100000}
RELAXED_LIMITS: dict[str, Any] = {
    "rc_message": _FAST,
    "rc_registration": _FAST,
    "rc_login": {"address": _FAST, "account": _FAST, "failed_attempts": _FAST},
    "rc_joins": {"local": _FAST, "remote": _FAST},
    "rc_joins_per_room": _FAST,
    "rc_invites": {"per_room": _FAST, "per_user": _FAST, "per_issuer": _FAST},
    "rc_room_creation": _FAST,
    "rc_presence": {"per_user": _FAST},
}


class SynapseError(RuntimeError):
    pass


def venv_dir() -> Path:
    return Path(
        os.environ.get(VENV_ENV) or Path.home() / ".cache" / "klasbot-test" / "synapse-venv"
    )


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_synapse(log: Any = None) -> Path:
    """The python of a virtualenv with Synapse installed; installs it on first use."""
    venv = venv_dir()
    python = _python(venv)
    check = [str(python), "-c", "import synapse.app.homeserver"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be installing it right now
        if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
            return python
        if log:
            log(f"installing {SYNAPSE_REQUIREMENT} into {venv} (once; about half a minute)")
        # The base interpreter, not this (project) virtualenv's: the two must not share packages.
        base = Path(getattr(sys, "_base_executable", sys.executable))
        steps = [
            [str(base), "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
            [str(python), "-m", "pip", "install", "--quiet", SYNAPSE_REQUIREMENT],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                raise SynapseError(
                    f"installing Synapse failed: {' '.join(step)}\n{done.stderr[-3000:]}"
                )
    return python


def synapse_version(python: Path) -> str:
    done = subprocess.run(
        [str(python), "-c", "import synapse; print(synapse.__version__)"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


@dataclass
class Synapse:
    base_url: str
    directory: Path
    shared_secret: str
    room_version: str
    relaxed: bool
    version: str
    process: subprocess.Popen[bytes]
    output: Any = None  # the open log file the process writes to
    server_name: str = SERVER_NAME

    # ------------------------------------------------------------------ HTTP helpers

    def request(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise SynapseError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc
        return json.loads(raw) if raw else None

    def register(
        self,
        localpart: str,
        *,
        password: str | None = None,
        admin: bool = False,
        displayname: str | None = None,
    ) -> RegisteredUser:
        """Create a user through the shared-secret registration admin API (an HMAC over a nonce)."""
        password = password or secrets.token_urlsafe(12)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        message = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self.shared_secret.encode(), message.encode(), digestmod=hashlib.sha1)
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
            "displayname": displayname or localpart,
        }
        got = self.request("POST", "/_synapse/admin/v1/register", body)
        return RegisteredUser(got["user_id"], password, got["access_token"], got["device_id"])

    def set_ratelimit_exempt(self, admin_token: str, user_id: str, exempt: bool) -> None:
        """Lift (or restore) every rate limit for one user, with the admin API. A zero override
        switches all of Synapse's limiters off for that user, not only the message limiter."""
        path = f"/_synapse/admin/v1/users/{urllib.request.quote(user_id)}/override_ratelimit"
        if exempt:
            self.request(
                "POST", path, {"messages_per_second": 0, "burst_count": 0}, token=admin_token
            )
        else:
            self.request("DELETE", path, token=admin_token)

    def capabilities(self, token: str) -> dict[str, Any]:
        return self.request("GET", "/_matrix/client/v3/capabilities", token=token)["capabilities"]

    def supports_room_version(self, token: str, version: str) -> bool:
        versions = self.capabilities(token).get("m.room_versions", {}).get("available", {})
        return version in versions

    # ------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.output is not None:
            self.output.close()
            self.output = None

    def log_tail(self, chars: int = 4000) -> str:
        text = ""
        for name in ("homeserver.log", "stderr.log"):
            path = self.directory / name
            if path.exists():
                text += f"--- {name}\n" + path.read_text(errors="replace")[-chars:]
        return text


def homeserver_config(
    directory: Path, port: int, secret: str, room_version: str, relaxed: bool
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "server_name": SERVER_NAME,
        "pid_file": str(directory / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                # The client API (with the admin API); no federation resource.
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(directory / "log.config"),
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": secret,
        "macaroon_secret_key": secrets.token_hex(16),
        "form_secret": secrets.token_hex(16),
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "url_preview_enabled": False,
        "federation_domain_whitelist": [],
        "allow_public_rooms_over_federation": False,
        "default_room_version": room_version,
        "presence": {"enabled": False},
        "enable_metrics": False,
    }
    if relaxed:
        config.update(RELAXED_LIMITS)
    return config


def _log_config(directory: Path, level: str) -> dict[str, Any]:
    return {
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(directory / "homeserver.log"),
                "formatter": "plain",
            }
        },
        "root": {"level": level, "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


def start_synapse(
    directory: Path,
    *,
    room_version: str = "11",
    relaxed: bool = False,
    log_level: str = "WARNING",
    log: Any = None,
) -> Synapse:
    """Start a fresh homeserver in `directory` and wait until it answers /health."""
    python = ensure_synapse(log)
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    secret = secrets.token_hex(16)
    config_path = directory / "homeserver.yaml"
    # JSON is YAML, so no YAML library is needed here.
    config_path.write_text(
        json.dumps(homeserver_config(directory, port, secret, room_version, relaxed), indent=2)
    )
    (directory / "log.config").write_text(json.dumps(_log_config(directory, log_level), indent=2))
    command = [str(python), "-m", "synapse.app.homeserver", "--config-path", str(config_path)]
    keys = subprocess.run(
        [*command, "--generate-keys"], capture_output=True, text=True, cwd=directory
    )
    if keys.returncode != 0:
        raise SynapseError(f"synapse --generate-keys failed:\n{keys.stderr[-3000:]}")
    output = open(directory / "stderr.log", "wb")  # noqa: SIM115 - closed by Synapse.stop()
    process = subprocess.Popen(command, cwd=directory, stdout=output, stderr=subprocess.STDOUT)
    server = Synapse(
        base_url=f"http://127.0.0.1:{port}",
        directory=directory,
        shared_secret=secret,
        room_version=room_version,
        relaxed=relaxed,
        version=synapse_version(python),
        process=process,
        output=output,
    )
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SynapseError(f"Synapse exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise SynapseError(f"Synapse did not become healthy within 60 s:\n{server.log_tail()}")
        time.sleep(0.1)


@contextmanager
def running_synapse(directory: Path, **kwargs: Any) -> Iterator[Synapse]:
    server = start_synapse(directory, **kwargs)
    try:
        yield server
    finally:
        server.stop()

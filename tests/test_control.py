from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path
from typing import Any

from supervisor.options import ServerOptions

from djsupervisor.config.server import configure_control_server
from djsupervisor.inside.rpcinterface import make_rpcinterface
from djsupervisor.protocol import OWN_RPC_FACTORY
from djsupervisor.runtime import SECRET_BYTES, RuntimeDir, new_secret

RACERS = 8  # processes creating the same secret at once
RACE_ATTEMPTS = 100


def configure(sections: dict[str, dict[str, str]], directory: Path) -> Any:
    return configure_control_server(sections, directory / "supervisor.sock", new_secret())


def test_private_socket_is_added_with_random_credentials(tmp_path: Path) -> None:
    sections: dict[str, dict[str, str]] = {}
    server = configure(sections, tmp_path)
    socket = sections["unix_http_server"]
    assert socket["file"] == str(tmp_path / "supervisor.sock")
    assert socket["chmod"] == "0700"
    # token_urlsafe(32) gives 43 characters: 256 bits of secret.
    assert SECRET_BYTES * 8 >= 128 and len(socket["password"]) >= 43
    assert server.url == "unix://" + socket["file"]
    assert (server.username, server.password) == (socket["username"], socket["password"])
    assert sections["supervisorctl"]["serverurl"] == server.url
    assert "rpcinterface:supervisor" in sections


def test_djsupervisors_namespace_is_added_and_resolves(tmp_path: Path) -> None:
    sections: dict[str, dict[str, str]] = {}
    configure(sections, tmp_path)
    factory = sections["rpcinterface:djsupervisor"]["supervisor.rpcinterface_factory"]
    assert factory == OWN_RPC_FACTORY
    # supervisord resolves it this way when it starts.
    assert ServerOptions().import_spec(factory) is make_rpcinterface


def test_secret_is_kept_between_invocations_and_private(tmp_path: Path) -> None:
    runtime = RuntimeDir(tmp_path)
    assert runtime.read_secret() is None
    first = runtime.keep_secret(new_secret())
    assert runtime.keep_secret(new_secret()) == first == runtime.read_secret()
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
    assert new_secret() != first


def test_concurrent_invocations_agree_on_one_complete_secret(tmp_path: Path) -> None:
    # `supervisor` and `supervisor status` started together both create the
    # secret; neither may see the other's half-written file.
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    racers = [
        context.Process(target=create_secrets, args=(tmp_path, barrier, results))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    seen = [results.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join()
    for attempt in range(RACE_ATTEMPTS):
        secrets_seen = {racer_seen[attempt] for racer_seen in seen}
        assert len(secrets_seen) == 1 and len(secrets_seen.pop()) >= 43, attempt
    # no drafts left behind
    assert all(list(path.iterdir()) == [path / "secret"] for path in tmp_path.iterdir())


def create_secrets(directory: Path, barrier: Any, results: Any) -> None:
    seen = []
    for attempt in range(RACE_ATTEMPTS):
        barrier.wait()  # start every attempt together
        runtime = RuntimeDir(directory / f"runtime{attempt}")
        runtime.path.mkdir(exist_ok=True)
        seen.append(runtime.keep_secret(new_secret()))
    results.put(seen)


def test_user_unix_server_is_honoured(tmp_path: Path) -> None:
    sections = {"unix_http_server": {"file": "/run/app.sock", "username": "u", "password": "p"}}
    server = configure_control_server(sections, tmp_path / "supervisor.sock", None)
    assert sections["unix_http_server"] == {
        "file": "/run/app.sock",
        "username": "u",
        "password": "p",
    }
    assert (server.url, server.username, server.password) == ("unix:///run/app.sock", "u", "p")
    assert not (tmp_path / "secret").exists()


def test_user_inet_server_fills_supervisorctl(tmp_path: Path) -> None:
    sections = {"inet_http_server": {"port": "*:9001"}, "supervisorctl": {"prompt": "app"}}
    server = configure_control_server(sections, tmp_path / "supervisor.sock", None)
    assert "unix_http_server" not in sections
    assert sections["supervisorctl"] == {"prompt": "app", "serverurl": "http://127.0.0.1:9001"}
    assert server.username is None


def test_user_supervisorctl_settings_win(tmp_path: Path) -> None:
    sections = {
        "inet_http_server": {"port": "127.0.0.1:9001"},
        "supervisorctl": {"serverurl": "http://localhost:9001"},
    }
    url = configure_control_server(sections, tmp_path / "supervisor.sock", None).url
    assert url == "http://localhost:9001"

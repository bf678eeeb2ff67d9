from __future__ import annotations

import json

import pytest

from djsupervisor.protocol import ProcessState
from djsupervisor.terminal.status import NOT_RUNNING, UNKNOWN, format_statuses, select, status
from tests.fakes import FakeProcess, FakeSupervisord


def info(group: str, name: str, state: str = "RUNNING") -> ProcessState:
    return ProcessState(group, name, state, "pid 1, uptime 0:01")


INFOS = [info("web", "web"), info("pool", "pool_0"), info("pool", "pool_1", "STOPPED")]


def test_names_select_processes_groups_or_all() -> None:
    assert select(INFOS, []) == (INFOS, [])
    assert select(INFOS, ["web", "all"]) == (INFOS, [])
    assert select(INFOS, ["pool:*"]) == (INFOS[1:], [])
    assert select(INFOS, ["pool:pool_1", "web"]) == ([INFOS[2], INFOS[0]], [])


def test_unknown_names_are_reported_by_kind() -> None:
    assert select(INFOS, ["nope", "gone:*", "pool:x"]) == (
        [],
        [
            "nope: ERROR (no such process)",
            "gone: ERROR (no such group)",
            "pool:x: ERROR (no such process)",
        ],
    )


def test_columns_widen_for_long_names() -> None:
    short = format_statuses([info("web", "web")])
    assert short == ["web" + " " * 30 + "RUNNING   pid 1, uptime 0:01"]
    long_name = "x" * 40
    wide = format_statuses([info("g", long_name), info("web", "web")])
    assert [line.index("RUNNING") for line in wide] == [len("g:") + 40 + 3] * 2
    assert wide[0].startswith(f"g:{long_name}")


def test_readiness_follows_in_a_column_of_its_own() -> None:
    processes = [
        ProcessState("db", "db", "RUNNING", "pid 1, uptime 0:00:03", "ready"),
        ProcessState("web", "web", "STOPPED", "Not started", "waiting for db (ready)"),
        ProcessState("cron", "cron", "RUNNING", "pid 2, uptime 0:00:03"),
    ]
    assert format_statuses(processes) == [
        "db                               RUNNING   pid 1, uptime 0:00:03   ready",
        "web                              STOPPED   Not started             waiting for db (ready)",
        "cron                             RUNNING   pid 2, uptime 0:00:03",
    ]


def test_json_says_each_process_for_scripts() -> None:
    now = 1000.0
    processes = [
        ProcessState("db", "db", "RUNNING", "pid 7, uptime 0:00:30", "ready", 7, 970),
        ProcessState("web", "web", "STARTING", "", "not ready", 8, 999),
        ProcessState("pool", "pool_0", "STOPPED", "Not started", "waiting for db (ready)"),
        ProcessState("migrate", "migrate", "EXITED", "Dec 05 10:00 AM", "done"),
    ]
    programs = {"pool_0": "pool"}  # by process name: a group's members are programs
    assert [process.as_json(now, programs) for process in processes] == [
        {
            "name": "db",
            "program": "db",
            "process": "db",
            "state": "RUNNING",
            "pid": 7,
            "uptime": 30,
            "ready": True,
            "readiness": "ready",
            "restarts": 0,
            "description": "pid 7, uptime 0:00:30",
            "schedule": None,
        },
        {
            "name": "web",
            "program": "web",
            "process": "web",
            "state": "STARTING",
            "pid": 8,
            "uptime": 1,
            "ready": False,
            "readiness": "not ready",
            "restarts": 0,
            "description": "",
            "schedule": None,
        },
        {
            "name": "pool:pool_0",
            "program": "pool",
            "process": "pool_0",
            "state": "STOPPED",
            "pid": None,
            "uptime": None,
            "ready": None,
            "readiness": "waiting for db (ready)",
            "restarts": 0,
            "description": "Not started",
            "schedule": None,
        },
        {
            "name": "migrate",
            "program": "migrate",
            "process": "migrate",
            "state": "EXITED",
            "pid": None,
            "uptime": None,
            "ready": None,
            "readiness": "done",
            "restarts": 0,
            "description": "Dec 05 10:00 AM",
            "schedule": None,
        },
    ]


@pytest.mark.parametrize(
    ("names", "expected", "exit_status"),
    [
        ([], ["web", "worker"], NOT_RUNNING),
        (["web"], ["web"], 0),
        (["web", "nope"], ["web"], UNKNOWN),
    ],
)
def test_json_status_prints_only_json_and_keeps_the_exit_status(
    names: list[str], expected: list[str], exit_status: int
) -> None:
    supervisord = FakeSupervisord(
        [FakeProcess("web", "web"), FakeProcess("worker", "worker", state="STOPPED")]
    )
    printed: list[str] = []
    errors: list[str] = []
    programs = {"web": "web", "worker": "worker"}
    assert status(supervisord, names, printed.append, errors.append, programs) == exit_status
    assert [process["name"] for process in json.loads("".join(printed))] == expected
    assert errors == (["nope: ERROR (no such process)"] if "nope" in names else [])


def test_a_scheduled_process_says_its_runs_in_json_as_sent_over_xml_rpc() -> None:
    sent = {"schedule": "every 2s", "next": 1004.0, "runs": 0, "failures": 0, "skipped": 0}
    sent |= {"last_result": "", "stopped": False}  # no last_start before the first run
    row = ProcessState("job", "job", "STOPPED", "Not started", "next run ...", schedule=sent).row()
    state = ProcessState.from_row(row)
    assert state.as_json(1000.0, {})["schedule"] == {
        "schedule": "every 2s",
        "next": 1004.0,
        "last_start": None,
        "last_result": "",
        "runs": 0,
        "failures": 0,
        "skipped": 0,
        "stopped": False,
    }
    older = ProcessState.from_row(row[:8])  # a supervisord from before schedules
    assert older.as_json(1000.0, {})["schedule"] is None


@pytest.mark.parametrize(
    ("schedule", "resting"),
    [
        ({"last_result": "", "stopped": False}, True),  # before its first run
        ({"last_result": "ok", "stopped": False}, True),
        ({"last_result": "exited with status 1", "stopped": False}, False),
        ({"last_result": "ok", "stopped": True}, False),  # stopped by someone
        ({}, False),  # no schedule: an exited program is down
    ],
)
def test_a_scheduled_process_between_good_runs_is_no_reason_for_status_to_fail(
    schedule: dict[str, object], resting: bool
) -> None:
    job = ProcessState("job", "job", "EXITED", "Dec 05 03:00 AM", schedule=schedule)
    assert job.resting is resting
    supervisord = FakeSupervisord([FakeProcess("web", "web")])
    supervisord.process_states = lambda: [job]  # type: ignore[method-assign]
    assert status(supervisord, [], lambda line: None) == (0 if resting else NOT_RUNNING)

from __future__ import annotations

from djsupervisor.protocol import ProcessState
from djsupervisor.terminal.status import format_statuses, select


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

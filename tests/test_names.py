"""Test the one reading of process names: status, start/stop and supervisorctl's others share it."""

from __future__ import annotations

import pytest

from djsupervisor.control.ctl import expand_names
from djsupervisor.errors import ConfigError
from djsupervisor.graph import Graph, Program, UnknownName, resolve_name
from djsupervisor.inside.runtable import RunTable
from djsupervisor.protocol import ProcessState
from djsupervisor.terminal.status import select

# web alone; pool with numprocs=2; mail and cron in a [group:workers].
GRAPH = Graph(
    {
        "web": Program(processes=["web"]),
        "pool": Program(processes=["pool:pool_0", "pool:pool_1"]),
        "mail": Program(processes=["workers:mail"]),
        "cron": Program(processes=["workers:cron"]),
    }
)
PROCESSES = [spec for program in GRAPH.programs.values() for spec in program.processes]


def resolve(name: str, bare_group: bool = False) -> list[str]:
    return resolve_name(name, PROCESSES, GRAPH.programs, bare_group=bare_group)


def test_a_program_is_its_processes() -> None:
    assert resolve("web") == ["web"]
    assert resolve("mail") == ["workers:mail"]


def test_a_numprocs_program_is_all_its_processes() -> None:
    assert resolve("pool") == ["pool:pool_0", "pool:pool_1"]


def test_group_star_or_colon_is_the_whole_group() -> None:
    assert resolve("workers:*") == ["workers:mail", "workers:cron"]
    assert resolve("workers:") == ["workers:mail", "workers:cron"]
    assert resolve("pool:*") == ["pool:pool_0", "pool:pool_1"]


def test_group_colon_process_is_one_process() -> None:
    assert resolve("workers:cron") == ["workers:cron"]
    assert resolve("pool:pool_1") == ["pool:pool_1"]
    assert resolve("web:web") == ["web"]


def test_all_is_every_process() -> None:
    assert resolve("all") == PROCESSES


def test_a_bare_group_is_the_whole_group_only_when_asked() -> None:
    assert resolve("workers", bare_group=True) == ["workers:mail", "workers:cron"]
    with pytest.raises(UnknownName) as raised:
        resolve("workers")  # supervisorctl's reading: process 'workers' of group 'workers'
    assert (raised.value.name, raised.value.group) == ("workers", None)


@pytest.mark.parametrize(
    ("name", "group"),
    [("nope", None), ("workers:nope", None), ("gone:*", "gone"), ("gone:", "gone")],
)
def test_an_unknown_name_is_an_error_naming_it(name: str, group: str | None) -> None:
    with pytest.raises(UnknownName) as raised:
        resolve(name)
    assert (str(raised.value), raised.value.name, raised.value.group) == (name, name, group)


def test_an_unknown_bare_name_is_an_unknown_group_when_bare_groups_are_taken() -> None:
    with pytest.raises(UnknownName) as raised:
        resolve("nope", bare_group=True)
    assert raised.value.group == "nope"


def test_without_processes_only_program_names_are_resolved() -> None:
    # supervisord reads the other names itself.
    names = ["pool", "web", "workers", "workers:*", "pool:pool_0", "nope", "all"]
    assert [resolve_name(n, None, GRAPH.programs) for n in names] == [
        ["pool:pool_0", "pool:pool_1"],
        ["web"],
        ["workers"],
        ["workers:*"],
        ["pool:pool_0"],
        ["nope"],
        ["all"],
    ]


# The three commands that read names, and how each reads a bare group.


def states() -> list[ProcessState]:
    return [
        ProcessState(spec.partition(":")[0], spec.rpartition(":")[2], "RUNNING", "")
        for spec in PROCESSES
    ]


def test_status_takes_a_group_as_group_star_only_as_supervisorctl_does() -> None:
    processes = states()
    assert select(processes, ["workers:*"]) == (processes[3:], [])
    assert select(processes, ["workers"]) == ([], ["workers: ERROR (no such process)"])
    assert select(processes, ["gone:*"]) == ([], ["gone: ERROR (no such group)"])
    assert select(processes, [":*"]) == ([], [": ERROR (no such group)"])


def test_start_and_stop_take_a_bare_group_whole() -> None:
    table = RunTable(GRAPH)
    assert [run.namespec for run in table.resolve("workers")] == ["workers:mail", "workers:cron"]
    assert [run.namespec for run in table.resolve("pool")] == ["pool:pool_0", "pool:pool_1"]
    with pytest.raises(UnknownName, match=r"^nope$"):
        table.resolve("nope")


def test_supervisorctl_commands_get_a_programs_processes() -> None:
    words = ["-f", "pool", "workers", "workers:*", "web"]
    assert expand_names("stop", words, GRAPH) == [
        "-f",
        "pool:pool_0",
        "pool:pool_1",
        "workers",
        "workers:*",
        "web",
    ]
    assert expand_names("signal", ["HUP", "pool"], GRAPH) == ["HUP", "pool:pool_0", "pool:pool_1"]
    assert expand_names("tail", ["-f", "mail"], GRAPH) == ["-f", "workers:mail"]
    with pytest.raises(
        ConfigError, match=r"^tail: pool has 2 processes \(pool:pool_0, pool:pool_1\); name one$"
    ):
        expand_names("tail", ["pool"], GRAPH)

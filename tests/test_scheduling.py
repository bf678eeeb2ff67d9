"""Scheduled programs in the orchestrator: each run when due, never two at once, on after failures.

Histories as in test_orchestrator.py (tests/histories.py): the test moves
the clock, the timers fall due, and the test plays supervisord's part.
"""

from __future__ import annotations

from djsupervisor.graph import Change, Graph, Program
from djsupervisor.inside.runs import ScheduledRuns, moment
from djsupervisor.protocol import NOT_STARTED
from tests.histories import WALL_START, History


def scheduled(schedule: str = "every 2s", depends_on: str | None = None) -> Graph:
    """Return a graph with a scheduled program, 'job', and a web server it may depend on."""
    job = Program(
        processes=["job"],
        oneshot=True,
        autostart=False,
        schedule=schedule,
        depends_on=[(depends_on, "started")] if depends_on else [],
        reload=True,
        reload_patterns=["*.py"],
    )
    return Graph(
        {"job": job, "web": Program(processes=["web"], reload=True, reload_patterns=["*.py"])}
    )


def at(seconds: float) -> str:
    """Return how status and notes show the time ``seconds`` into the history."""
    return moment(WALL_START + seconds)


def runs_of(history: History) -> ScheduledRuns:
    runs = history.orchestrator.table.runs["job"].scheduled
    assert runs is not None
    return runs


def test_each_run_starts_when_due_not_at_launch() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    assert history.control.taken() == ["start web"]
    history.control.advance(1.9)
    assert history.control.taken() == []
    history.control.advance(0.1)
    assert history.control.taken() == [f"note job: run 1 starts (due {at(2)})", "start job"]
    history.finishes("job")
    history.control.advance(2)
    assert history.control.taken() == [f"note job: run 2 starts (due {at(4)})", "start job"]
    history.finishes("job")
    assert (runs_of(history).runs, runs_of(history).failures) == (2, 0)
    assert history.readiness("job") == f"next run {at(6)}; last run {at(4)}: ok"


def test_a_run_still_going_when_the_next_is_due_is_not_started_twice() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.advance(2)
    history.runs("job")  # and runs on, past two due times
    history.control.taken()
    history.control.advance(4.5)
    assert history.control.taken() == []
    assert runs_of(history).skipped == 2
    assert history.said == [
        f"job: the run due at {at(4)} is skipped: the one started at {at(2)} is still going"
    ]  # once
    history.announce("job", "EXITED")
    history.control.advance(1.5)  # the next due time
    assert history.control.taken()[-1] == "start job"
    assert history.readiness("job").endswith("; 2 skipped")


def test_a_failed_run_is_counted_and_said_and_the_schedule_goes_on() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.advance(2)
    history.finishes("job", status=1)
    assert history.said == ["job exited with status 1"]
    assert history.readiness("job") == (
        f"next run {at(4)}; last run {at(2)}: exited with status 1; 1 of 1 failed"
    )
    assert history.orchestrator.table.startup(["job"])["failures"] == ["job: exited with status 1"]
    history.control.taken()
    history.control.advance(2)
    assert history.control.taken()[-1] == "start job"
    history.finishes("job")
    assert history.orchestrator.table.startup(["job"])["outcomes"] == {"job": "ok"}
    assert history.readiness("job").endswith(": ok; 1 of 2 failed")


def test_start_runs_a_nightly_job_now_and_again_when_asked_again() -> None:
    history = History(scheduled("0 3 * * *"))
    history.orchestrator.supervisord_running()
    history.control.taken()
    for run in (1, 2):
        assert history.orchestrator.start(["job"]) == ["job"]
        assert history.control.taken() == [f"note job: run {run} starts (asked for)", "start job"]
        assert history.orchestrator.table.startup(["job"])["pending"] == ["job"]
        history.finishes("job")
    assert runs_of(history).due == runs_of(history).schedule.next_after(WALL_START, WALL_START)


def test_stop_pauses_the_schedule_until_start_which_runs_it_now() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.taken()
    history.orchestrator.stop(["job"])
    history.control.advance(10)
    assert history.control.taken() == []
    assert history.readiness("job") == "stopped: no run until started"
    assert history.orchestrator.table.startup(["job"])["outcomes"] == {"job": NOT_STARTED}
    history.orchestrator.start(["job"])
    assert history.control.taken()[-1] == "start job"
    history.finishes("job")
    history.control.advance(2)  # on its schedule again, from its anchor
    assert history.control.taken()[-1] == "start job"


def test_a_run_waits_for_what_it_depends_on() -> None:
    history = History(scheduled(depends_on="web"))
    history.orchestrator.supervisord_running()
    history.control.taken()
    history.orchestrator.stop(["web"])
    history.stops("web")
    history.control.taken()
    history.control.advance(2)
    assert history.control.taken() == ["start web"]  # wanted again, for the job
    assert history.readiness("job").startswith("waiting for web (started); next run")
    history.runs("web")
    assert history.control.taken() == [f"note job: run 1 starts (due {at(2)})", "start job"]


def test_a_code_change_does_not_run_it_and_an_update_replans_it() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.runs("web")
    history.control.taken()
    assert history.orchestrator.code_changed([Change("views.py")]) == ["web"]
    history.stops("web")
    history.runs("web")
    assert "start job" not in history.control.taken()
    history.control.advance(1)
    history.orchestrator.graph_changed(scheduled("every 10s"))
    history.control.advance(9.5)
    assert history.control.taken() == []  # the old timer at 2 s is moot
    history.control.advance(0.5)
    assert history.control.taken() == [f"note job: run 1 starts (due {at(11)})", "start job"]


def test_waiting_for_every_process_leaves_the_scheduled_ones_out() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.runs("web")
    history.control.advance(2)
    history.runs("job")  # a run under way
    startup = history.orchestrator.table.startup([])
    assert (startup["settled"], startup["outcomes"]) == (True, {"web": "ok"})
    assert history.orchestrator.table.startup(["job"])["pending"] == ["job"]


def test_a_program_removed_by_update_runs_no_more() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.taken()
    web_only = Graph({"web": scheduled().programs["web"]})
    history.orchestrator.groups_removed(web_only, ["job"])
    history.control.advance(10)
    assert history.control.taken() == []
    assert history.control.timers == []  # its timer came once, and set no other


def test_its_runs_are_no_restarts() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    for _ in range(3):
        history.control.advance(2)
        history.finishes("job")
    assert history.orchestrator.table.restarts("job") == 0
    assert runs_of(history).runs == 3


def test_a_wall_clock_stepped_back_keeps_the_rhythm_from_now() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.taken()
    history.control.wall_offset = -3600  # NTP steps the clock back an hour
    history.control.advance(2)
    history.control.advance(2)
    assert "start job" in history.control.taken()  # not an hour later


def test_a_failed_dependency_blocks_each_run_without_being_run_again() -> None:
    graph = scheduled(depends_on="migrate")
    graph.programs["migrate"] = Program(processes=["migrate"], oneshot=True)
    graph.programs["job"].depends_on = [("migrate", "done")]
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.finishes("migrate", status=1)
    history.control.taken()
    history.said.clear()
    for _ in range(2):
        history.control.advance(2)
        assert history.control.taken() == []  # neither migrate nor the job
    blocked = "blocked: migrate exited with status 1"
    assert history.readiness("job") == blocked
    assert (runs_of(history).failures, runs_of(history).skipped) == (2, 0)
    assert history.orchestrator.table.startup(["job"])["failures"] == [f"job: {blocked}"]


def test_restart_of_a_stopped_schedule_runs_it_and_resumes_it() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.orchestrator.stop(["job"])
    history.control.taken()
    history.orchestrator.restart(["job"])
    assert history.control.taken()[-1] == "start job"
    history.finishes("job")
    assert history.orchestrator.table.startup(["job"])["outcomes"] == {"job": "ok"}
    assert not runs_of(history).stopped and runs_of(history).due is not None


def test_a_start_supervisord_refuses_is_a_failed_run() -> None:
    history = History(scheduled())
    history.control.refuse["job"] = "SPAWN_ERROR: no such file"
    history.orchestrator.supervisord_running()
    history.control.advance(2)
    assert runs_of(history).last_result == "could not start: SPAWN_ERROR: no such file"
    assert runs_of(history).failures == 1


def test_a_changed_schedule_keeps_the_counts_and_a_stop() -> None:
    history = History(scheduled())
    history.orchestrator.supervisord_running()
    history.control.advance(2)
    history.finishes("job", status=1)
    history.orchestrator.stop(["job"])
    history.orchestrator.graph_changed(scheduled("every 5s"))
    assert (runs_of(history).runs, runs_of(history).failures) == (1, 1)
    assert runs_of(history).stopped and str(runs_of(history).schedule) == "every 5s"
    history.control.taken()
    history.control.advance(20)
    assert history.control.taken() == []

"""The orchestrator fed recorded histories of supervisord's state changes, asserting what it did.

No supervisord here: each test plays supervisord's part (tests/histories.py).
"""

from __future__ import annotations

import pytest

from djsupervisor.graph import Change, Check, Graph, Program, UnknownName
from djsupervisor.protocol import NOT_STARTED
from tests.histories import History

HTTP = Check("http", "http://127.0.0.1:8000/", "127.0.0.1", 8000)


def chain_graph(**changes: Program) -> Graph:
    """Return migrate (one-shot) -> web (http check) -> worker, reloaded on code changes."""
    programs = {
        "migrate": Program(
            processes=["migrate"],
            oneshot=True,
            reload=True,
            reload_patterns=["*/migrations/*.py"],
        ),
        "web": Program(
            processes=["web"],
            ready=HTTP,
            depends_on=[("migrate", "done")],
            reload=True,
            reload_patterns=["*.py"],
            reload_templates=True,
        ),
        "worker": Program(
            processes=["worker"],
            depends_on=[("migrate", "done"), ("web", "started")],
            reload=True,
            reload_patterns=["*.py"],
        ),
    }
    return Graph({**programs, **changes}, debug=True)


def test_launch_starts_each_program_once_its_dependencies_hold() -> None:
    history = History(chain_graph())
    history.orchestrator.supervisord_running()
    assert history.control.taken() == ["start migrate"]
    assert history.readiness("web") == "waiting for migrate (done)"
    history.announce("migrate", "STARTING", "RUNNING")
    assert history.control.taken() == []  # running is not done
    history.announce("migrate", "EXITED")
    assert history.control.taken() == ["start web"]
    history.announce("web", "STARTING")
    assert history.control.taken() == []  # the worker waits for web to run
    history.announce("web", "RUNNING")
    assert history.control.taken() == ["start worker"]
    assert history.readiness("web") == "not ready"
    history.ready("web")
    assert history.readiness("web") == "ready"
    assert history.said == [
        "web is waiting for migrate (done)",
        "worker is waiting for migrate (done), web (started)",
        "web is ready at http://127.0.0.1:8000/",
    ]


def test_a_code_change_stops_dependents_first_and_does_not_rerun_a_oneshot() -> None:
    history = History(chain_graph())
    history.launch_chain()

    reloaded = history.orchestrator.code_changed([Change("jobs/views.py")])

    assert reloaded == ["web", "worker"]
    assert history.control.taken() == ["stop worker"]  # web waits for its dependent
    assert history.readiness("web") == "restarting"
    history.announce("worker", "STOPPING")
    assert history.control.taken() == []
    history.announce("worker", "STOPPED")
    assert history.control.taken() == ["stop web"]  # the worker waits for web to restart
    history.stops("web")
    assert history.control.taken() == ["start web"]  # migrate is done: not run again
    history.announce("web", "STARTING")
    assert history.control.taken() == []
    history.announce("web", "RUNNING")
    assert history.control.taken() == ["start worker"]


def test_a_migration_runs_the_oneshot_again_between_the_stops_and_the_starts() -> None:
    history = History(chain_graph())
    history.launch_chain()

    reloaded = history.orchestrator.code_changed([Change("jobs/migrations/0002_more.py")])

    assert reloaded == ["migrate", "web", "worker"]
    assert history.control.taken() == ["stop worker"]
    history.stops("worker")
    assert history.control.taken() == ["stop web"]
    history.stops("web")
    assert history.control.taken() == ["start migrate"]  # after its dependents stopped
    history.announce("migrate", "STARTING", "RUNNING")
    assert history.control.taken() == []  # web waits until migrate is done again
    history.announce("migrate", "EXITED")
    assert history.control.taken() == ["start web"]
    history.runs("web")
    assert history.control.taken() == ["start worker"]


def test_a_oneshot_without_autoreload_true_is_not_run_by_a_code_change() -> None:
    graph = chain_graph(migrate=Program(processes=["migrate"], oneshot=True))
    history = History(graph)
    history.launch_chain()
    assert history.orchestrator.code_changed([Change("jobs/migrations/0002_more.py")]) == [
        "web",
        "worker",
    ]
    history.stops("worker")
    history.stops("web")
    assert history.control.taken() == ["stop worker", "stop web", "start web"]


def test_a_change_no_pattern_matches_reloads_nothing_and_templates_reload_the_web_only() -> None:
    history = History(chain_graph())
    history.launch_chain()
    assert history.orchestrator.code_changed([Change("notes/readme.txt")]) == []
    assert history.control.taken() == []
    template = Change("jobs/templates/jobs/index.html", template=True)
    # The worker does not reload on templates, but it runs depending on the web.
    assert history.orchestrator.code_changed([template]) == ["web", "worker"]
    assert history.control.taken() == ["stop worker"]


def test_a_program_with_a_reload_signal_gets_it_and_keeps_running() -> None:
    graph = chain_graph(
        web=Program(
            processes=["web"],
            depends_on=[("migrate", "done")],
            reload=True,
            reload_patterns=["*.py"],
            reload_signal="HUP",
        )
    )
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.runs("web")
    history.runs("worker")
    history.control.taken()
    assert history.orchestrator.code_changed([Change("jobs/views.py")]) == ["web", "worker"]
    # The worker restarts: its dependency never goes down.
    assert history.control.taken() == ["signal web HUP", "stop worker"]
    history.stops("worker")
    assert history.control.taken() == ["start worker"]


def test_a_user_restart_goes_through_the_graph_and_is_on_its_way_until_restarted() -> None:
    history = History(chain_graph())
    history.launch_chain()
    # In the order they stop: dependents first.
    assert history.orchestrator.restart(["web"]) == ["worker", "web"]
    startup = history.orchestrator.table.startup(["web", "worker"])
    assert not startup["settled"]
    assert startup["pending"] == ["web", "worker"]
    history.stops("worker")
    history.stops("web")
    history.runs("web")
    history.ready("web")
    history.runs("worker")
    assert history.control.taken() == ["stop worker", "stop web", "start web", "start worker"]
    assert history.orchestrator.table.startup(["web", "worker"]) == {
        "settled": True,
        "failures": [],
        "outcomes": {"web": "ok", "worker": "ok"},
        "pending": [],
    }


def test_restarting_a_done_oneshot_runs_it_again_before_its_dependents() -> None:
    history = History(chain_graph())
    history.launch_chain()
    assert history.orchestrator.restart(["migrate"]) == ["worker", "web", "migrate"]
    history.stops("worker")
    history.stops("web")
    assert history.control.taken() == ["stop worker", "stop web", "start migrate"]


def test_a_crash_restarts_after_the_backoff_and_after_its_dependencies() -> None:
    history = History(chain_graph())
    history.launch_chain()
    history.control.advance(5)
    history.announce("worker", "EXITED", expected=False, status=1)
    assert history.readiness("worker") == "crashed; restarting in 1 s"
    # Meanwhile web restarts: the worker's restart waits for it.
    history.orchestrator.restart(["web"])
    history.stops("web")
    assert history.control.taken() == ["stop web", "start web"]
    history.control.advance(1)
    assert history.control.taken() == []
    history.runs("web")
    assert history.control.taken() == ["start worker"]


def test_autorestart_false_and_an_expected_exit_are_not_restarted() -> None:
    graph = Graph(
        {
            "never": Program(processes=["never"], autorestart="false"),
            "always": Program(processes=["always"], autorestart="true"),
            "unexpected": Program(processes=["unexpected"]),
        }
    )
    history = History(graph)
    history.orchestrator.supervisord_running()
    for name in ("never", "always", "unexpected"):
        history.runs(name)
    history.control.taken()
    history.announce("never", "EXITED", expected=False, status=1)
    history.announce("always", "EXITED", expected=True)
    history.announce("unexpected", "EXITED", expected=True)
    history.control.advance(2)
    assert history.control.taken() == ["start always"]


def test_in_debug_mode_a_crash_loop_waits_for_a_code_change() -> None:
    history = History(chain_graph())
    history.launch_chain()
    for _ in range(5):
        history.announce("worker", "EXITED", expected=False, status=1)
        history.control.advance(60)
        history.announce("worker", "STARTING", "RUNNING")
    history.announce("worker", "EXITED", expected=False, status=1)
    history.control.taken()
    history.control.advance(120)
    assert history.control.taken() == []
    assert "waiting for a code change" in history.readiness("worker")
    assert history.orchestrator.code_changed([Change("jobs/tasks.py")]) == ["web", "worker"]
    history.stops("web")
    history.runs("web")
    assert history.control.taken() == ["stop web", "start web", "start worker"]


def test_a_oneshot_not_done_within_its_ready_timeout_blocks_its_dependents() -> None:
    graph = chain_graph(migrate=Program(processes=["migrate"], oneshot=True, ready_timeout=5))
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.announce("migrate", "STARTING", "RUNNING")
    history.control.advance(4.9)
    assert history.orchestrator.table.startup([])["settled"] is False
    history.control.advance(0.2)
    assert history.readiness("migrate") == "not done within 5 s"
    startup = history.orchestrator.table.startup([])
    assert startup["settled"] is True
    assert "web: blocked: migrate not done within 5 s" in startup["failures"]
    assert "worker: blocked: migrate not done within 5 s" in startup["failures"]
    # Done late after all: its dependents start.
    history.announce("migrate", "EXITED")
    assert history.control.taken() == ["start migrate", "start web"]


def test_a_program_not_ready_within_its_timeout_blocks_its_dependents_and_its_probe_stops() -> None:
    history = History(chain_graph())
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.runs("web")
    history.control.probes["web"].last_failure = "connection refused"
    history.control.advance(60)
    assert history.control.probes["web"].cancelled
    assert history.readiness("web") == "not ready within 60 s (connection refused)"
    assert history.readiness("worker") == ""  # web:started holds: the worker runs
    assert history.control.taken() == ["start migrate", "start web", "start worker"]


def test_a_failing_oneshot_blocks_its_dependents_transitively() -> None:
    history = History(chain_graph())
    history.orchestrator.supervisord_running()
    history.finishes("migrate", status=1)
    assert history.control.taken() == ["start migrate"]
    assert history.readiness("web") == "blocked: migrate exited with status 1"
    assert history.readiness("worker") == "blocked: migrate exited with status 1"
    assert "migrate exited with status 1" in history.said


def test_update_starts_the_added_groups_only_and_a_stopped_program_stays_stopped() -> None:
    graph = Graph({"web": Program(processes=["web"]), "worker": Program(processes=["worker"])})
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.runs("web")
    history.runs("worker")
    history.orchestrator.stop(["worker"])
    history.stops("worker")
    history.control.taken()
    graph = Graph({**graph.programs, "extra": Program(processes=["extra"])})
    history.orchestrator.groups_added(graph, ["extra"])
    assert history.control.taken() == ["start extra"]
    assert history.orchestrator.table.runs["worker"].state == "STOPPED"


def test_a_process_stopped_by_someone_is_settled_for_those_waiting_for_it() -> None:
    # 'wait web' after 'stop web' ends at once: nothing will start it.
    history = History(Graph({"web": Program(processes=["web"])}))
    history.orchestrator.supervisord_running()
    history.runs("web")
    assert history.orchestrator.table.startup(["web"])["outcomes"] == {"web": "ok"}
    history.orchestrator.stop(["web"])
    assert history.orchestrator.table.startup(["web"])["pending"] == ["web"]  # stopping
    history.stops("web")
    assert history.orchestrator.table.startup(["web"]) == {
        "settled": True,
        "failures": [f"web: {NOT_STARTED}"],
        "outcomes": {"web": NOT_STARTED},
        "pending": [],
    }
    # 'wait' with no names: web is an autostart program, and stopped.
    assert history.orchestrator.table.startup([])["outcomes"] == {"web": NOT_STARTED}
    history.orchestrator.start(["web"])
    assert history.orchestrator.table.startup([])["pending"] == ["web"]


def test_an_exited_process_stopped_by_someone_is_settled_too() -> None:
    history = History(Graph({"web": Program(processes=["web"])}))
    history.orchestrator.supervisord_running()
    history.runs("web")
    history.finishes("web")  # exited as expected: nothing restarts it
    history.orchestrator.stop(["web"])
    assert history.orchestrator.table.startup(["web"])["outcomes"] == {"web": NOT_STARTED}


def test_a_start_that_supervisord_refuses_is_a_failure_said_once_and_not_retried() -> None:
    history = History(Graph({"web": Program(processes=["web"])}))
    history.control.refuse["web"] = "NO_FILE: /nope"
    history.orchestrator.supervisord_running()
    history.orchestrator.evaluate()
    assert history.control.taken() == ["start web"]
    assert history.said == ["web could not start: NO_FILE: /nope"]
    del history.control.refuse["web"]
    history.orchestrator.start(["web"])  # asked again: tried again
    assert history.control.taken() == ["start web"]


def test_unknown_names_are_refused() -> None:
    history = History(chain_graph())
    with pytest.raises(UnknownName):
        history.orchestrator.restart(["nope"])


def test_a_stop_during_a_restart_cancels_it() -> None:
    history = History(chain_graph())
    history.launch_chain()
    history.orchestrator.restart(["web"])
    history.orchestrator.stop(["worker", "web"])
    history.stops("worker")
    history.stops("web")
    assert history.control.taken() == ["stop worker", "stop web"]
    assert history.readiness("web") == ""
    # Nothing waits for the web that stopped: the worker stays down too.
    history.orchestrator.start(["web"])
    history.runs("web")
    assert history.control.taken() == ["start web"]
    # And a second restart goes the whole way.
    assert history.orchestrator.restart(["web"]) == ["web"]
    history.stops("web")
    assert history.control.taken() == ["stop web", "start web"]


def test_a_stop_during_a_restart_does_not_let_a_dependent_start_against_it() -> None:
    history = History(chain_graph())
    history.launch_chain()
    history.orchestrator.restart(["web"])
    history.stops("worker")
    assert history.control.taken() == ["stop worker", "stop web"]
    history.orchestrator.stop(["web"])
    assert history.control.taken() == []
    history.stops("web")
    assert history.control.taken() == []  # the worker waits for a web that is not coming
    assert history.readiness("worker") == "waiting for web (started)"


def test_update_starts_a_changed_group_afresh() -> None:
    graph = chain_graph()
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.announce("web", "STARTING", "BACKOFF", "STARTING", "FATAL")
    assert history.readiness("web") == "could not start: exited too quickly"
    history.control.taken()
    # The user fixes web's command; update removes its group and adds it again.
    history.orchestrator.groups_removed(graph, ["web"])
    history.orchestrator.groups_added(graph, ["web"])
    assert history.control.taken() == ["start web"]
    history.runs("web")
    assert history.control.taken() == ["start worker"]


def test_the_timer_of_an_older_crash_does_not_cut_a_later_backoff_short() -> None:
    history = History(chain_graph())
    history.launch_chain()
    history.announce("worker", "EXITED", expected=False, status=1)  # restart due in 1 s
    history.orchestrator.start(["worker"])  # the user starts it at once
    history.announce("worker", "STARTING", "RUNNING")
    history.announce("worker", "EXITED", expected=False, status=1)  # due in 2 s now
    history.control.taken()
    history.control.advance(1.5)
    assert history.control.taken() == []  # the first crash's timer
    history.control.advance(0.6)
    assert history.control.taken() == ["start worker"]


def test_a_stop_cancels_a_crash_restart() -> None:
    history = History(chain_graph())
    history.launch_chain()
    history.announce("worker", "EXITED", expected=False, status=1)
    history.orchestrator.stop(["worker"])
    history.control.advance(5)
    assert history.control.taken() == []
    assert history.readiness("worker") == ""


def test_restarting_backoff_and_fatal_processes_and_a_numprocs_program() -> None:
    graph = Graph(
        {
            "web": Program(processes=["web"]),
            "worker": Program(
                processes=["worker:worker_0", "worker:worker_1"], depends_on=[("web", "started")]
            ),
        }
    )
    history = History(graph)
    history.orchestrator.supervisord_running()
    history.announce("web", "STARTING", "BACKOFF")
    history.control.taken()
    history.orchestrator.restart(["web"])
    assert history.control.taken() == ["stop web"]  # stopping a BACKOFF process: STOPPED
    history.announce("web", "STOPPED")
    history.runs("web")
    assert history.control.taken() == [
        "start web",
        "start worker:worker_0",
        "start worker:worker_1",
    ]
    history.runs("worker:worker_0")
    history.announce("worker:worker_1", "STARTING", "FATAL")
    # A program's name means all its processes; a FATAL one starts without a stop.
    assert history.orchestrator.restart(["worker"]) == ["worker:worker_0", "worker:worker_1"]
    assert history.control.taken() == ["stop worker:worker_0", "start worker:worker_1"]


def test_a_check_under_way_is_cancelled_when_its_program_stops_or_supervisord_does() -> None:
    history = History(chain_graph())
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.runs("web")
    first = history.control.probes["web"]
    history.orchestrator.restart(["web"])
    history.stops("web")
    assert first.cancelled  # its program stopped
    history.runs("web")
    second = history.control.probes["web"]
    assert not second.cancelled
    history.orchestrator.close()
    assert second.cancelled  # supervisord stops


def test_a_log_check_passes_on_a_line_its_pattern_matches_even_split_between_chunks() -> None:
    log = Check("log", r"Listening at: http://\S+")
    history = History(
        chain_graph(
            web=Program(processes=["web"], ready=log, depends_on=[("migrate", "done")]),
            worker=Program(processes=["worker"], depends_on=[("web", "ready")]),
        )
    )
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.runs("web")
    run = history.orchestrator.table.runs["web"]
    assert history.orchestrator.watches_output(run)
    assert history.control.taken() == ["start migrate", "start web"]
    history.orchestrator.on_output("web", "Booting\nListening at: ht")
    assert history.control.taken() == []  # half a line is no line yet
    history.orchestrator.on_output("web", "tp://127.0.0.1:8000 (1)\n")
    assert history.control.taken() == ["start worker"]
    assert history.readiness("web") == "ready"
    assert not history.orchestrator.watches_output(run)  # looked at no more
    history.orchestrator.on_output("nobody", "Listening at: http://x\n")  # not a process: ignored


def test_a_ready_check_that_passes_for_an_older_start_is_ignored() -> None:
    history = History(chain_graph())
    history.orchestrator.supervisord_running()
    history.finishes("migrate")
    history.runs("web")
    first_probe = history.control.probes["web"]
    history.stops("web")
    history.control.advance(1)
    history.runs("web")  # started again: a new check
    first_probe.on_pass()
    assert history.readiness("web") == "not ready"
    history.ready("web")
    assert history.readiness("web") == "ready"


def served_chain() -> History:
    """Return the chain launched, web serving a held socket (listen=) with its http check."""
    history = History(chain_graph())
    history.orchestrator.table.graph.programs["web"].listen = "127.0.0.1:8000"
    history.launch_chain()
    return history


def test_a_served_program_is_tried_before_it_restarts_and_restarts_once_the_trial_passes() -> None:
    history = served_chain()

    assert history.orchestrator.restart(["web"]) == ["web"]
    assert history.control.taken() == ["try web"]  # nothing stopped yet: web serves on
    assert history.orchestrator.table.startup(["web"])["settled"] is False
    history.control.trials["web"].on_end(None)
    assert history.control.taken() == ["stop worker"]  # then the restart, dependents first
    history.stops("worker")
    assert history.control.taken() == ["stop web"]
    history.stops("web")
    history.runs("web")
    assert not history.control.trials["web"].cancelled  # it serves until web is ready again
    history.ready("web")
    assert not history.control.trials["web"].cancelled  # and has run 1.5x the trial's boot
    history.control.advance(0.59)
    assert not history.control.trials["web"].cancelled
    history.control.advance(0.02)
    assert history.control.trials["web"].cancelled
    assert history.orchestrator.table.startup(["web"])["outcomes"] == {"web": "ok"}


def test_a_failed_trial_leaves_the_running_process_and_its_dependents_alone() -> None:
    history = served_chain()

    history.orchestrator.code_changed([Change("jobs/views.py")])
    assert history.control.taken() == ["try web"]  # the worker, reloaded too, waits for it
    history.control.trials["web"].on_end("it exited with status 3: SyntaxError")
    assert history.control.taken() == ["stop worker"]  # then restarts, as asked

    outcome = history.orchestrator.table.startup(["web"])["outcomes"]["web"]
    assert outcome.startswith("not restarted: the new process did not pass its ready check")
    assert "SyntaxError" in outcome and "the running one goes on serving" in outcome
    assert history.readiness("web") == "ready"  # still serving
    assert history.said[-1] == f"web {outcome}"
    history.stops("worker")
    assert history.control.taken() == ["start worker"]  # web still holds for it


def test_a_code_change_restarts_the_dependents_once_after_a_passed_trial() -> None:
    history = served_chain()

    assert history.orchestrator.code_changed([Change("jobs/views.py")]) == ["web", "worker"]
    assert history.control.taken() == ["try web"]
    history.control.trials["web"].on_end(None)
    assert history.control.taken() == ["stop worker"]
    history.stops("worker")
    assert history.control.taken() == ["stop web"]
    history.stops("web")
    history.runs("web")
    history.ready("web")
    assert history.control.taken() == ["start web", "start worker"]


def test_a_stop_during_a_trial_cancels_it() -> None:
    history = served_chain()
    history.orchestrator.restart(["web"])
    history.control.taken()

    history.orchestrator.stop(["web"])

    assert history.control.trials["web"].cancelled
    assert history.control.taken() == ["stop web"]


def test_only_a_ready_served_program_with_an_http_check_is_tried() -> None:
    history = History(chain_graph())  # web binds its port itself: no listen
    history.launch_chain()
    history.orchestrator.restart(["web"])
    assert "try web" not in history.control.taken()


def test_a_trial_that_does_not_serve_the_held_socket_ends_as_it_passes() -> None:
    history = served_chain()
    history.orchestrator.restart(["web"])
    history.control.trials["web"].serves_held = False  # uvicorn --fd 3: its check socket only

    history.control.trials["web"].on_end(None)

    assert history.control.trials["web"].cancelled  # before the restart: clients wait instead
    assert history.control.taken() == ["try web", "stop worker"]


def test_restarts_count_every_start_after_the_first_until_the_program_changes() -> None:
    history = History(chain_graph())
    history.launch_chain()
    table = history.orchestrator.table
    assert [table.restarts(name) for name in ("migrate", "web", "worker")] == [0, 0, 0]
    history.announce("worker", "EXITED", expected=False, status=1)
    history.control.advance(1)
    history.runs("worker")  # after the crash
    history.orchestrator.restart(["worker"])
    history.stops("worker")
    history.runs("worker")  # asked for
    history.orchestrator.start(["migrate"])
    history.finishes("migrate")  # a one-shot run again
    assert [table.restarts(name) for name in ("migrate", "web", "worker")] == [1, 0, 2]
    history.orchestrator.groups_added(chain_graph(), ["worker"])  # update, the program changed
    assert table.restarts("worker") == 0

"""Reading ready, depends_on, oneshot and restart_backoff, and what supervisord is told."""

from __future__ import annotations

import pytest

from djsupervisor.config.dependencies import build_graph
from djsupervisor.config.merge import Layer, apply_program_rules, merge_layers
from djsupervisor.config.program_options import parse_check
from djsupervisor.config.reloading import apply_reload_rules
from djsupervisor.errors import ConfigError
from djsupervisor.graph import Check, Graph
from djsupervisor.options import Options


def graph_of(programs: dict[str, dict[str, str]]) -> tuple[Graph, dict[str, dict[str, str]]]:
    sections = {f"program:{name}": {"command": "run", **opts} for name, opts in programs.items()}
    merged = apply_program_rules(merge_layers([Layer(sections, origin="conf")]), Options())
    return build_graph(merged, debug=False), merged.sections


@pytest.mark.parametrize(
    ("value", "check"),
    [
        ("tcp:5432", Check("tcp", "127.0.0.1:5432", "127.0.0.1", 5432)),
        ("tcp:db.local:5432", Check("tcp", "db.local:5432", "db.local", 5432)),
        (
            "http://127.0.0.1:8000/health/",
            Check("http", "http://127.0.0.1:8000/health/", "127.0.0.1", 8000),
        ),
        ("http://localhost/", Check("http", "http://localhost/", "localhost", 80)),
        ("exec:pg_isready -h 127.0.0.1", Check("exec", "pg_isready -h 127.0.0.1")),
        ("log:Listening on \\d+", Check("log", "Listening on \\d+")),
    ],
)
def test_checks(value: str, check: Check) -> None:
    assert parse_check(value, "program 'x'") == check


@pytest.mark.parametrize(
    "value", ["tcp:", "tcp:port", "tcp:99999", "http://", "exec:", "log:(", "ping:db"]
)
def test_malformed_checks_are_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError, match=r"program 'x': ready=") as error:
        parse_check(value, "program 'x'")
    assert error.value.check_id == "djsupervisor.E013"


def test_what_supervisord_is_told_instead() -> None:
    graph, sections = graph_of(
        {
            "db": {"ready": "tcp:5432"},
            "migrate": {"oneshot": "true", "depends_on": "db:ready"},
            "web": {"depends_on": "migrate:done, db", "autostart": "true"},
            "cron": {"restart_backoff": "false"},
            "tail": {"ready": "log:up", "autorestart": "false"},
            "slow": {"ready": "tcp:8001", "startsecs": "5"},
        }
    )
    # A check says when it has started: RUNNING as soon as it runs, unless the user says.
    assert sections["program:db"]["startsecs"] == "0"
    assert sections["program:slow"]["startsecs"] == "5"
    assert "startsecs" not in sections["program:cron"]
    assert sections["program:migrate"]["startsecs"] == "0"  # done however soon it exits
    assert sections["program:migrate"]["autorestart"] == "false"
    assert sections["program:web"]["autostart"] == "false"  # the orchestrator starts it
    assert graph.programs["web"].autostart is True  # as the user wants
    assert graph.programs["web"].depends_on == [("migrate", "done"), ("db", "started")]
    assert sections["program:db"]["autorestart"] == "false"  # restarted with a backoff instead
    assert graph.programs["db"].autorestart == "unexpected"
    assert "autorestart" not in sections["program:cron"]  # supervisord's own rules
    assert sections["program:tail"]["stdout_events_enabled"] == "true"  # its log is watched
    assert graph.programs["db"].ready_timeout == 60  # seconds, unless said
    for options in sections.values():
        assert not {"ready", "depends_on", "oneshot", "restart_backoff"} & set(options)
    assert Graph.from_json(graph.to_json()) == graph


@pytest.mark.parametrize(
    ("programs", "message", "check_id"),
    [
        ({"web": {"depends_on": "dbb"}}, "depends_on names 'dbb', which is no program", "E014"),
        ({"web": {"depends_on": "web"}}, "which is itself", "E014"),
        ({"db": {}, "web": {"depends_on": "db:healthy"}}, "unknown condition 'healthy'", "E014"),
        ({"db": {}, "web": {"depends_on": "db:ready"}}, "'db' has no ready check", "E014"),
        ({"db": {}, "web": {"depends_on": "db:done"}}, "'db' is not a one-shot program", "E014"),
        (
            {"a": {"depends_on": "b"}, "b": {"depends_on": "c"}, "c": {"depends_on": "a"}},
            "cycle: a -> b -> c -> a",
            "E015",
        ),
        ({"db": {"ready_timeout": "soon"}}, "ready_timeout='soon' is not a finite number", "E004"),
        ({"db": {"oneshot": "perhaps"}}, "oneshot='perhaps' is not a boolean", "E004"),
    ],
)
def test_dependency_mistakes_are_named(
    programs: dict[str, dict[str, str]], message: str, check_id: str
) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        graph_of(programs)
    assert error.value.check_id == f"djsupervisor.{check_id}"


@pytest.mark.parametrize(
    "value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "0", "-0", "-1"]
)
def test_ready_timeout_must_be_finite_and_above_zero(value: str) -> None:
    with pytest.raises(ConfigError) as error:
        graph_of({"db": {"ready": "tcp:5432", "ready_timeout": value}})
    assert error.value.check_id == "djsupervisor.E004"
    assert str(error.value).startswith(
        f"program 'db' (from conf): ready_timeout={value!r} is not a finite number of seconds"
    )


@pytest.mark.parametrize(
    "value",
    ['exec:sh -c "echo', "exec:echo 'unclosed", "exec:echo \\", "exec:''", "exec:run\0x"],
)
def test_an_exec_check_that_cannot_run_is_refused_by_name(value: str) -> None:
    with pytest.raises(ConfigError) as error:
        graph_of({"db": {"ready": value}})
    assert error.value.check_id == "djsupervisor.E013"
    assert str(error.value).startswith(f"program 'db' (from conf): ready={value!r}: ")


def test_an_unclosed_quote_in_an_exec_check_is_said() -> None:
    with pytest.raises(ConfigError, match=r"cannot be split into words \(No closing quotation\)"):
        parse_check('exec:sh -c "echo', "program 'x'")


@pytest.mark.parametrize(
    ("value", "meaning"),
    [
        *[(spelling, "true") for spelling in ("true", "TRUE", "Yes", "yES", "on", "On", "1")],
        *[(spelling, "false") for spelling in ("false", "False", "no", "NO", "off", "oFF", "0")],
        *[(spelling, "unexpected") for spelling in ("unexpected", "Unexpected", "UNEXPECTED")],
    ],
)
def test_autorestart_means_what_it_means_to_supervisord(value: str, meaning: str) -> None:
    graph, sections = graph_of({"web": {"autorestart": value}})
    assert graph.programs["web"].autorestart == meaning
    # The orchestrator restarts it, unless it is never to be restarted.
    assert sections["program:web"]["autorestart"] == (value if meaning == "false" else "false")
    graph, sections = graph_of({"web": {"autorestart": value, "restart_backoff": "false"}})
    assert graph.programs["web"].autorestart == meaning
    assert sections["program:web"]["autorestart"] == value  # supervisord reads it itself


def test_autorestart_defaults_to_unexpected() -> None:
    graph, _ = graph_of({"web": {}})
    assert graph.programs["web"].autorestart == "unexpected"


@pytest.mark.parametrize("value", ["maybe", "always", "", "2", "y", "truee"])
def test_an_autorestart_supervisord_does_not_know_is_refused(value: str) -> None:
    for options in ({}, {"restart_backoff": "false"}, {"oneshot": "true"}):
        with pytest.raises(ConfigError) as error:
            graph_of({"web": {"autorestart": value, **options}})
        assert error.value.check_id == "djsupervisor.E006"
        assert str(error.value) == (
            f"program 'web' (from conf): autorestart={value!r} is not a value supervisord "
            "knows; use true, false or unexpected (or yes/no, on/off, 1/0)"
        )


@pytest.mark.parametrize(
    ("yes", "no"), [("true", "false"), ("yes", "no"), ("on", "off"), ("1", "0")]
)
def test_every_spelling_of_a_boolean_counts_wherever_it_is_read(yes: str, no: str) -> None:
    programs = {
        "migrate": {"oneshot": yes, "autoreload": yes, "autostart": no},
        "web": {"restart_backoff": no, "autoreload": no, "depends_on": "migrate:done"},
        "cron": {"exclude": yes},
    }
    sections = {f"program:{name}": {"command": "run", **opts} for name, opts in programs.items()}
    merged = apply_program_rules(merge_layers([Layer(sections, origin="conf")]), Options())
    graph = build_graph(merged, debug=True)
    apply_reload_rules(graph, merged, (), ["*.py"])
    assert set(graph.programs) == {"migrate", "web"}
    migrate, web = graph.programs["migrate"], graph.programs["web"]
    assert (migrate.oneshot, migrate.reload, migrate.autostart) == (True, True, False)
    assert (web.restart_backoff, web.reload, web.autostart) == (False, False, True)


def test_an_autostart_that_is_no_boolean_is_refused_as_supervisord_would() -> None:
    """Even where supervisor's reader does not run (``run``): the graph reads it first."""
    with pytest.raises(
        ConfigError,
        match=r"invalid supervisord config \(from conf\): not a valid boolean value: 'maybe' "
        r"in section 'program:web'",
    ) as error:
        graph_of({"web": {"autostart": "maybe"}})
    assert error.value.check_id == "djsupervisor.E006"

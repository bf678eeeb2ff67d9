"""Choosing which programs run: --only, and leaving out a program others need."""

from __future__ import annotations

import pytest

from djsupervisor.config.dependencies import build_graph
from djsupervisor.config.merge import Layer, Merged, apply_program_rules, merge_layers
from djsupervisor.config.selection import select_programs
from djsupervisor.errors import ConfigError, DependencyError
from djsupervisor.options import Options

PROGRAMS = {
    "program:migrate": {"command": "migrate", "oneshot": "true"},
    "program:web": {"command": "web", "depends_on": "migrate:done"},
    "program:worker": {"command": "worker", "depends_on": "web"},
    "program:beat": {"command": "beat"},
    "group:queue": {"programs": "worker,beat"},
}


def selected(options: Options) -> Merged:
    layers = [
        Layer({"program:autoreload": {"command": "reload"}}, origin="internal", internal=True),
        Layer(PROGRAMS, origin="supervisord.conf"),
    ]
    merged = apply_program_rules(merge_layers(layers), options)
    select_programs(merged, options)
    build_graph(merged, debug=False)
    return merged


def test_only_runs_the_program_and_what_it_depends_on() -> None:
    merged = selected(Options(only=("web",)))
    assert merged.programs == ["autoreload", "migrate", "web"]
    assert "group:queue" not in merged.sections  # emptied: both members left out


def test_only_follows_dependencies_transitively_and_repeats() -> None:
    assert selected(Options(only=("worker",))).programs == [
        "autoreload",
        "migrate",
        "web",
        "worker",
    ]
    merged = selected(Options(only=("web", "beat")))
    assert merged.programs == ["autoreload", "migrate", "web", "beat"]
    assert merged.sections["group:queue"] == {"programs": "beat"}


def test_only_an_unknown_program_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"^--only webb: no such program \(programs: .*web"):
        selected(Options(only=("webb",)))


def test_only_a_program_left_out_says_how_to_keep_it() -> None:
    with pytest.raises(ConfigError, match=r"^--only web: web is left out \(-x web\); keep it"):
        selected(Options(only=("web",), exclude=("web",)))


def test_leaving_out_a_dependency_names_its_dependents_and_the_fix() -> None:
    with pytest.raises(DependencyError) as error:
        selected(Options(exclude=("migrate",)))
    assert str(error.value) == (
        "program 'migrate' is left out (-x migrate), but web depends on it "
        "(and worker on web); leave them out too (-x migrate -x web -x worker)"
    )
    assert selected(Options(exclude=("migrate", "web", "worker"))).programs == [
        "autoreload",
        "beat",
    ]


def test_a_dependency_excluded_in_the_config_says_so() -> None:
    options = Options(only=("worker",))
    layers = [
        Layer({**PROGRAMS, "program:web": {**PROGRAMS["program:web"], "exclude": "true"}}, "f")
    ]
    merged = apply_program_rules(merge_layers(layers), options)
    with pytest.raises(
        DependencyError,
        match=r"left out \(exclude=true\), but worker depends on it; set exclude=true",
    ):
        build_graph(merged, debug=False)


DATABASE = {
    "program:db": {"command": "db"},
    "program:web": {"command": "web", "depends_on": "db"},
    "program:beat": {"command": "beat"},
}


def selected_of(programs: dict[str, dict[str, str]], options: Options) -> Merged:
    merged = apply_program_rules(merge_layers([Layer(programs, origin="f")]), options)
    select_programs(merged, options)
    build_graph(merged, debug=False)
    return merged


@pytest.mark.parametrize(
    ("only", "exclude", "fix"),
    [
        (("web",), ("db",), "with --only web it must run: drop -x db"),
        (("web", "beat"), ("db",), "with --only web it must run: drop -x db, or drop --only web"),
        (("web",), (), "with --only web it must run: keep db with -i db"),
    ],
)
def test_leaving_out_what_only_needs_says_to_keep_it(
    only: tuple[str, ...], exclude: tuple[str, ...], fix: str
) -> None:
    # Not "-x web", which --only web would refuse in turn.
    excluded_db = {**DATABASE, "program:db": {"command": "db", "exclude": "true"}}
    how = "-x db" if exclude else "exclude=true"
    with pytest.raises(DependencyError) as error:
        selected_of(DATABASE if exclude else excluded_db, Options(only=only, exclude=exclude))
    assert str(error.value) == f"program 'db' is left out ({how}), but web depends on it; {fix}"
    # Both fixes work.
    assert selected_of(DATABASE, Options(only=only)).programs == ["db", "web", *only[1:]]
    assert selected_of(DATABASE, Options(only=("beat",), exclude=("db",))).programs == ["beat"]


def test_leaving_out_what_only_needs_transitively_names_the_chain() -> None:
    with pytest.raises(DependencyError) as error:
        selected(Options(only=("worker", "beat"), exclude=("migrate",)))
    assert str(error.value) == (
        "program 'migrate' is left out (-x migrate), but web depends on it (and worker on web); "
        "with --only worker it must run: drop -x migrate, or drop --only worker"
    )


def only_web(flag: str, names: tuple[str, ...], exclude: tuple[str, ...] = ()) -> Options:
    """Return ``--only web`` with ``--FLAG NAME`` for each of ``names``."""
    chosen = {key: names if key == flag else () for key in ("launch", "nolaunch", "autoreload")}
    return Options(
        only=("web",),
        exclude=exclude,
        launch=chosen["launch"],
        nolaunch=chosen["nolaunch"],
        autoreload=chosen["autoreload"],
    )


@pytest.mark.parametrize("flag", ["launch", "nolaunch", "autoreload"])
def test_a_flag_for_a_program_only_leaves_out_says_so(flag: str) -> None:
    with pytest.raises(ConfigError) as error:
        selected(only_web(flag, ("worker",)))
    assert str(error.value) == (
        f"--{flag} worker: worker does not run with --only web; "
        f"add --only worker, or drop --{flag} worker"
    )
    with pytest.raises(ConfigError) as error:
        selected(only_web(flag, ("beat",), exclude=("beat",)))
    assert str(error.value) == (
        f"--{flag} beat: beat is left out (-x beat); "
        f"drop -x beat and add --only beat, or drop --{flag} beat"
    )
    # A dependency of the selection runs, and so does djsupervisor's own autoreload.
    assert selected(only_web(flag, ("migrate", "autoreload"))).programs == [
        "autoreload",
        "migrate",
        "web",
    ]


@pytest.mark.parametrize("flag", ["launch", "nolaunch", "autoreload"])
def test_a_flag_for_a_program_left_out_says_so_without_only(flag: str) -> None:
    options = Options(exclude=("beat",), **{flag: ("beat",)})  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as error:
        selected(options)
    assert (
        str(error.value)
        == f"--{flag} beat: beat is left out (-x beat); drop -x beat, or drop --{flag} beat"
    )

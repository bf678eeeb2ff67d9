"""Reading a program's own options once, into a ProgramOptions: each option and its mistakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from djsupervisor.config.merge import Layer, apply_program_rules, merge_layers
from djsupervisor.config.program_options import (
    OWN_BOOLEANS,
    ProgramOptions,
    read_boolean,
    read_options,
)
from djsupervisor.errors import ConfigError
from djsupervisor.graph import Check
from djsupervisor.options import Options

WHERE = "program 'web' (from conf)"
TRUE = ["true", "yes", "on", "1", "TRUE", "Yes"]
FALSE = ["false", "no", "off", "0", "FALSE", "Off"]


def options_of(**written: str) -> ProgramOptions:
    return read_options(written, "web", WHERE)


def refused(check_id: str, message: str, **written: str) -> None:
    with pytest.raises(ConfigError) as error:
        options_of(**written)
    assert str(error.value).startswith(message)
    assert error.value.check_id == f"djsupervisor.{check_id}"


def test_unset_options_mean_their_defaults() -> None:
    options = options_of()
    assert options == ProgramOptions()
    assert options.autoreload is None  # unset: a one-shot is not reloaded, others are
    assert options.autoreload_patterns is None  # unset: the setting's, and templates
    assert (options.exclude, options.oneshot, options.restart_backoff) == (False, False, True)
    assert (options.ready, options.ready_timeout, options.depends_on) == (None, 60.0, ())


@pytest.mark.parametrize("key", OWN_BOOLEANS)
@pytest.mark.parametrize(("values", "meaning"), [(TRUE, True), (FALSE, False)])
def test_booleans_are_read_as_supervisord_reads_them(
    key: str, values: list[str], meaning: bool
) -> None:
    for value in values:
        assert getattr(options_of(**{key: value}), key) is meaning
        assert options_of(**{key: value}).written[key] == ("true" if meaning else "false")


@pytest.mark.parametrize("key", OWN_BOOLEANS)
def test_a_boolean_that_is_none_is_named(key: str) -> None:
    refused("E004", f"{WHERE}: {key}='maybe' is not a boolean; use true or false", **{key: "maybe"})


def test_read_boolean_names_the_option() -> None:
    assert read_boolean("on", "stopasgroup", WHERE) is True
    with pytest.raises(ConfigError, match=r"stopasgroup='2' is not a boolean"):
        read_boolean("2", "stopasgroup", WHERE)


@pytest.mark.parametrize("value", ["HUP", "SIGHUP", "hup", "1"])
def test_autoreload_signal_is_a_name(value: str) -> None:
    options = options_of(autoreload_signal=value)
    assert options.autoreload_signal == "HUP"
    assert options.written["autoreload_signal"] == "HUP"


def test_a_wrong_autoreload_signal_is_named() -> None:
    message = f"{WHERE}: autoreload_signal='RELOAD' is not a signal"
    refused("E004", message, autoreload_signal="RELOAD")


def test_autoreload_patterns_are_split() -> None:
    options = options_of(autoreload_patterns="*.py, */templates/*.html  *.txt")
    assert options.autoreload_patterns == ("*.py", "*/templates/*.html", "*.txt")


def test_empty_autoreload_patterns_are_refused() -> None:
    refused("E004", "program 'web': autoreload_patterns is empty", autoreload_patterns=" , ")


def test_ready_is_a_check() -> None:
    assert options_of(ready="tcp:5432").ready == Check("tcp", "127.0.0.1:5432", "127.0.0.1", 5432)


def test_a_wrong_ready_check_is_named() -> None:
    refused("E013", f"{WHERE}: ready='ping:db' is not a check", ready="ping:db")


def test_ready_timeout_is_seconds() -> None:
    assert options_of(ready_timeout="2.5").ready_timeout == 2.5


def test_a_wrong_ready_timeout_is_named() -> None:
    refused("E004", f"{WHERE}: ready_timeout='soon' is not a finite number", ready_timeout="soon")


def test_depends_on_is_read_into_pairs() -> None:
    options = options_of(depends_on="db:ready, migrate:DONE,, cache")
    assert options.depends_on == (("db", "ready"), ("migrate", "done"), ("cache", "started"))
    assert options.dependencies == ["db", "migrate", "cache"]


def test_a_wrong_depends_on_condition_is_named() -> None:
    refused("E014", f"{WHERE}: depends_on='db:up': unknown condition 'up'", depends_on="db:up")


def test_environment_files_are_paths() -> None:
    options = options_of(environment_file="/p/a.env, /p/b.env,")
    assert options.environment_file == (Path("/p/a.env"), Path("/p/b.env"))


def test_an_excluded_program_has_only_its_booleans_and_signal_read() -> None:
    """It does not run: what would be wrong with it there is no error."""
    options = options_of(exclude="yes", ready="ping:db", ready_timeout="soon", depends_on="x:up")
    assert options.exclude is True
    assert options.ready is None
    refused("E004", f"{WHERE}: oneshot='maybe'", exclude="true", oneshot="maybe")


def test_the_merge_reads_the_options_once() -> None:
    sections = {
        "program:web": {"command": "w", "oneshot": "yes", "depends_on": "db", "ready": "tcp:80"},
        "program:db": {"command": "d"},
    }
    merged = apply_program_rules(merge_layers([Layer(sections, origin="conf")]), Options())
    assert merged.options["web"].oneshot is True
    assert merged.options["web"].depends_on == (("db", "started"),)
    assert merged.own["web"] == {"oneshot": "true", "depends_on": "db", "ready": "tcp:80"}
    assert merged.sections["program:web"] == {"command": "w"}

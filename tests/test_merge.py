from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from djsupervisor.config.merge import Layer, Merged, apply_program_rules, merge_layers
from djsupervisor.errors import ConfigError
from djsupervisor.options import Options


def merged(*layers: dict[str, dict[str, str]], options: Options | None = None) -> Merged:
    stack = [Layer(sections, origin=f"layer{i}") for i, sections in enumerate(layers)]
    return apply_program_rules(merge_layers(stack), options or Options())


def test_later_layers_win_option_by_option() -> None:
    result = merged(
        {"program:web": {"command": "app-web", "startsecs": "5"}},
        {"program:web": {"command": "project-web"}},
    )
    assert result.sections["program:web"] == {"command": "project-web", "startsecs": "5"}


def test_defaults_fill_gaps_and_overrides_force() -> None:
    result = merged(
        {
            "program:__defaults__": {"autorestart": "true", "startsecs": "1"},
            "program:__overrides__": {"stopsignal": "INT"},
            "program:a": {"command": "a", "startsecs": "9", "stopsignal": "TERM"},
            "program:b": {"command": "b"},
        }
    )
    assert result.sections == {
        "program:a": {"autorestart": "true", "startsecs": "9", "stopsignal": "INT", "command": "a"},
        "program:b": {"autorestart": "true", "startsecs": "1", "stopsignal": "INT", "command": "b"},
    }


def test_command_line_beats_overrides() -> None:
    result = merged(
        {"program:__overrides__": {"autostart": "false"}, "program:web": {"command": "w"}},
        options=Options(launch=("web",)),
    )
    assert result.sections["program:web"]["autostart"] == "true"


def test_exclude_and_include() -> None:
    layers = (
        {"program:a": {"command": "a"}, "program:b": {"command": "b", "exclude": "yes"}},
        {"program:c": {"command": "c"}, "group:g": {"programs": "a,b,c"}},
    )
    assert merged(*layers).programs == ["a", "c"]
    with_b = merged(*layers, options=Options(include=("b",), exclude=("c",)))
    assert with_b.programs == ["a", "b"]
    assert with_b.sections["group:g"] == {"programs": "a,b"}


def test_group_emptied_by_exclusion_is_dropped() -> None:
    result = merged(
        {"program:a": {"command": "a", "exclude": "true"}, "group:g": {"programs": "a"}}
    )
    assert "group:g" not in result.sections


def test_own_options_never_reach_supervisord() -> None:
    result = merged(
        {
            "program:web": {
                "command": "w",
                "autoreload": "off",
                "autoreload_signal": "HUP",
                "exclude": "0",
            }
        }
    )
    assert result.sections["program:web"] == {"command": "w"}
    assert result.own["web"] == {
        "exclude": "false",
        "autoreload": "false",
        "autoreload_signal": "HUP",
    }


def test_program_without_command_is_named() -> None:
    with pytest.raises(
        ConfigError, match=r"program 'worker' has no command \(from layer0, layer1\)"
    ):
        merged({"program:worker": {"startsecs": "1"}}, {"program:worker": {"autostart": "true"}})


def test_excluded_program_needs_no_command() -> None:
    assert merged({"program:worker": {"exclude": "true"}}).programs == []


def test_bad_boolean_names_program_and_option() -> None:
    with pytest.raises(
        ConfigError, match=r"program 'web' \(from layer0\): exclude='maybe' is not a boolean"
    ):
        merged({"program:web": {"command": "w", "exclude": "maybe"}})


def with_program(flag: str) -> Options:
    """Return the options of ``--FLAG nope``."""
    changes: dict[str, Any] = {flag: ("nope",)}
    return replace(Options(), **changes)


@pytest.mark.parametrize("flag", ["launch", "nolaunch", "exclude", "include", "autoreload"])
def test_unknown_program_in_selection_is_an_error(flag: str) -> None:
    with pytest.raises(ConfigError, match=rf"--{flag} nope: no such program \(programs: a\)"):
        merged({"program:a": {"command": "a"}}, options=with_program(flag))


@pytest.mark.parametrize("flag", ["nolaunch", "exclude"])
def test_turning_off_an_absent_autoreload_is_no_error(flag: str) -> None:
    """Outside debug mode there is no autoreload program; django-supervisor's -x autoreload."""
    changes: dict[str, Any] = {flag: ("autoreload",)}
    options = replace(Options(), **changes)
    assert merged({"program:a": {"command": "a"}}, options=options).programs == ["a"]
    with pytest.raises(ConfigError, match=r"--include autoreload: no such program"):
        merged({"program:a": {"command": "a"}}, options=replace(Options(), include=("autoreload",)))


@pytest.mark.parametrize("value", ["HUP", "SIGHUP", "hup", "1"])
def test_autoreload_signal_is_normalised(value: str) -> None:
    result = merged({"program:web": {"command": "w", "autoreload_signal": value}})
    assert result.own["web"]["autoreload_signal"] == "HUP"


def test_bad_autoreload_signal_names_program_and_option() -> None:
    with pytest.raises(
        ConfigError, match=r"program 'web' \(from layer0\): autoreload_signal='RELOAD' is not a"
    ):
        merged({"program:web": {"command": "w", "autoreload_signal": "RELOAD"}})

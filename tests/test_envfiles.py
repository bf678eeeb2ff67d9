"""Inside supervisord: the env-file variables go into each process's config, and again on reread."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from djsupervisor.inside import envfiles


def options_for(path: Path | None, groups: dict[str, dict[str, dict[str, str]]]) -> Any:
    """Return a stand-in for supervisord's options: groups, and a section naming ``path``."""
    extras = {"graph": "g.json", **({envfiles.OPTION: str(path)} if path else {})}
    factories = [("supervisor", None, {}), (envfiles.NAMESPACE, None, extras)]
    return SimpleNamespace(
        configroot=SimpleNamespace(supervisord=SimpleNamespace(rpcinterface_factories=factories)),
        process_group_configs=[
            SimpleNamespace(
                name=group,
                process_configs=[
                    SimpleNamespace(name=name, environment=dict(environment))
                    for name, environment in processes.items()
                ],
            )
            for group, processes in groups.items()
        ],
    )


def environments(options: Any) -> dict[str, dict[str, str]]:
    return {
        f"{group.name}:{process.name}": process.environment
        for group in options.process_group_configs
        for process in group.process_configs
    }


def test_each_process_gets_its_programs_variables_over_supervisords_own(tmp_path: Path) -> None:
    path = tmp_path / "environment.json"
    path.write_text(
        envfiles.dumps(
            {"web": {"A": "100%", "S": "abc #1"}, "worker": {"W": "w"}},
            {"worker": ["jobs:worker_0", "jobs:worker_1"]},  # web: no names (not checked)
        )
    )
    options = options_for(
        path,
        {
            # [supervisord] environment= gives S; the file wins over it (its
            # program's own environment= keys are not in the file).
            "web": {"web": {"S": "supervisord's", "OWN": "own"}},
            "jobs": {"worker_0": {}, "worker_1": {}},
            "other": {"other": {"O": "o"}},
        },
    )
    envfiles.give(options)
    envfiles.give(options)  # once per server section: the same
    assert environments(options) == {
        "web:web": {"S": "abc #1", "OWN": "own", "A": "100%"},
        "jobs:worker_0": {"W": "w"},
        "jobs:worker_1": {"W": "w"},
        "other:other": {"O": "o"},
    }


def test_without_a_file_named_nothing_changes() -> None:
    options = options_for(None, {"web": {"web": {"A": "a"}}})
    envfiles.give(options)
    assert environments(options) == {"web:web": {"A": "a"}}


def test_a_missing_or_foreign_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"cannot read .*environment.json"):
        envfiles.give(options_for(tmp_path / "environment.json", {}))
    for foreign in ("not json", "[]", '{"programs": {}, "processes": {"web": "web"}}'):
        (tmp_path / "environment.json").write_text(foreign)
        with pytest.raises(ValueError, match=r"is not what djsupervisor wrote"):
            envfiles.give(options_for(tmp_path / "environment.json", {}))


def test_each_reread_gets_the_variables_before_supervisord_compares_configs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "environment.json"
    path.write_text(envfiles.dumps({"web": {"A": "1"}}, {}))
    options = options_for(path, {"web": {"web": {}}})
    reads = []

    def process_config(do_usage: bool = True) -> None:  # supervisor's: reads the file anew
        reads.append(do_usage)
        options.process_group_configs = options_for(
            path, {"web": {"web": {}}}
        ).process_group_configs

    options.process_config = process_config
    envfiles.follow(options)
    envfiles.follow(options)  # wrapped once
    path.write_text(envfiles.dumps({"web": {"A": "2"}}, {}))
    options.process_config(do_usage=False)
    assert reads == [False]
    assert environments(options) == {"web:web": {"A": "2"}}

"""Build whole configs from files on disk, with the test apps' config files."""

from __future__ import annotations

import shlex
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.config import ini
from djsupervisor.config.build import Config, build
from djsupervisor.errors import ConfigError
from djsupervisor.options import Options

pytestmark = pytest.mark.usefixtures("runtime_base")  # tests/conftest.py

APPS_DIR = Path(__file__).parent / "apps"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manage.py").write_text("")
    return tmp_path


def write_conf(project: Path, text: str, name: str = "supervisord.conf") -> None:
    (project / name).write_text(text)


def test_merge_rules_across_apps_project_and_command_line(project: Path) -> None:
    write_conf(
        project,
        """
[program:alpha_worker]
startsecs=2          ; override one option of the app's program

[program:beta_cron]
exclude=true         ; drop the beta app's program

[program:web]
command={{ PYTHON }} manage.py runserver

[program:__overrides__]
stopsignal=INT
""",
    )
    config = build(Options(project_dir=str(project), nolaunch=("web",), exclude=("alpha_cron",)))
    sections = config.merged.sections
    assert config.merged.programs == ["alpha_worker", "web"]
    assert sections["program:alpha_worker"] == {
        "directory": str(project),
        "stopasgroup": "true",
        "killasgroup": "true",
        "stdout_events_enabled": "true",  # for the console and the journal
        "stderr_events_enabled": "true",
        "stopwaitsecs": "3",  # from beta's [program:__defaults__]
        "command": f"{sys.executable} -c \"print('alpha')\" --app-dir={APPS_DIR / 'alpha'}",
        "autostart": "true",
        "startsecs": "2",
        "stopsignal": "INT",
        # djsupervisor restarts crashed programs itself, after a growing delay.
        "autorestart": "false",
    }
    assert sections["program:web"]["autostart"] == "false"
    assert config.merged.origins["program:alpha_worker"] == [
        str(APPS_DIR / "alpha" / "management" / "supervisord.conf"),
        str(project / "supervisord.conf"),
    ]
    # The text supervisord gets parses back to the same sections.
    assert ini.parse(config.text, "out") == sections


def test_include_brings_back_an_excluded_program(project: Path) -> None:
    write_conf(project, "[program:beta_cron]\nexclude=true\n")
    config = build(Options(project_dir=str(project), include=("beta_cron",)))
    assert "beta_cron" in config.merged.programs


def test_here_means_the_directory_of_the_file_written(project: Path) -> None:
    write_conf(project, "[program:web]\ncommand=%(here)s/run.sh\n[include]\nfiles=conf.d/*.conf\n")
    (project / "conf.d").mkdir()
    (project / "conf.d" / "extra.conf").write_text("[program:extra]\ncommand=sleep 1\n")
    sections = build(Options(project_dir=str(project))).merged.sections
    assert sections["program:web"]["command"] == f"{project}/run.sh"
    assert sections["include"]["files"] == f"{project}/conf.d/*.conf"


def test_command_line_supervisord_options(project: Path) -> None:
    write_conf(project, "[supervisord]\nlogfile=/var/log/ignored.log\n")
    config = build(
        Options(project_dir=str(project), pidfile="s.pid", logfile="/tmp/s.log", daemonize=True)
    )
    supervisord = config.merged.sections["supervisord"]
    assert supervisord["pidfile"].endswith("/s.pid") and supervisord["logfile"] == "/tmp/s.log"
    assert supervisord["nodaemon"] == "false"


def test_config_file_option_and_setting(project: Path) -> None:
    write_conf(project, "[program:other]\ncommand=sleep 1\n", name="other.conf")
    assert (
        "other"
        in build(Options(project_dir=str(project), config_file="other.conf")).merged.programs
    )
    with override_settings(SUPERVISOR_CONFIG_FILE=str(project / "other.conf")):
        assert "other" in build(Options(project_dir=str(project))).merged.programs


def test_missing_named_config_file(project: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*/nope.conf does not exist"):
        build(Options(project_dir=str(project), config_file="nope.conf"))


def test_no_config_anywhere(project: Path) -> None:
    with (
        override_settings(INSTALLED_APPS=["djsupervisor"]),
        pytest.raises(ConfigError, match=rf"no supervisord.conf in {project}; create it"),
    ):
        build(Options(project_dir=str(project)))


def test_bad_value_is_reported_against_the_user_file(project: Path) -> None:
    write_conf(project, "[program:web]\ncommand=run\nautostart=maybe\n")
    with pytest.raises(
        ConfigError,
        match=rf"invalid supervisord config \(from {project}/supervisord.conf\): "
        r"not a valid boolean value: 'maybe' in section 'program:web'",
    ):
        build(Options(project_dir=str(project)))


def test_missing_project_dir() -> None:
    with pytest.raises(ConfigError, match="--project-dir /no/such/dir: no such directory"):
        build(Options(project_dir="/no/such/dir"))


@override_settings(DEBUG=True)
def test_debug_mode_adds_the_autoreload_program(project: Path) -> None:
    write_conf(project, "[program:web]\ncommand=run\n")
    config = build(Options(project_dir=str(project), exclude=("alpha_cron",), autoreload=("web",)))
    autoreload = config.merged.sections["program:autoreload"]
    # The options go into the plan it reads (tests/test_autoreload_plan.py), not its command.
    assert shlex.split(autoreload["command"]) == [
        sys.executable,
        "-m",
        "djsupervisor.autoreload",
        "--plan",
        str(config.runtime.path / "autoreload.json"),
    ]
    # python -m finds the project's modules in the program's directory.
    assert autoreload["directory"] == str(project)
    assert config.merged.own["autoreload"] == {"autoreload": "false"}


@pytest.mark.parametrize(
    ("debug", "options", "conf"),
    [
        (False, {}, ""),
        (True, {"noreload": True}, ""),
        (True, {}, "[program:autoreload]\nexclude=true\n"),
        (True, {"exclude": ("autoreload",)}, ""),
    ],
)
def test_autoreload_program_can_be_left_out(
    project: Path, debug: bool, options: dict[str, object], conf: str
) -> None:
    write_conf(project, "[program:web]\ncommand=run\n" + conf)
    with override_settings(DEBUG=debug):
        config = build(Options(project_dir=str(project), **options))  # type: ignore[arg-type]
    assert "autoreload" not in config.merged.programs


def test_process_names_come_from_supervisor(project: Path) -> None:
    write_conf(
        project,
        """
[program:web]
command=run
[program:worker]
command=work
numprocs=2
process_name=%(program_name)s_%(process_num)d
[program:cron]
command=cron
autostart=off
[group:jobs]
programs=cron
""",
    )
    config = build(Options(project_dir=str(project)))
    assert config.processes["web"] == ["web"]
    assert config.processes["worker"] == ["worker:worker_0", "worker:worker_1"]
    assert config.processes["cron"] == ["jobs:cron"]
    assert {"web", "worker:worker_0", "worker:worker_1"} <= config.autostart
    assert "jobs:cron" not in config.autostart


def reloading(config: Config) -> dict[str, tuple[str | None, list[str], bool]]:
    """Return each program a code change reloads: its signal, its patterns, templates or not."""
    return {
        name: (program.reload_signal, program.reload_patterns, program.reload_templates)
        for name, program in config.graph.programs.items()
        if program.reload
    }


def test_which_programs_a_code_change_reloads_and_on_what(project: Path) -> None:
    write_conf(
        project,
        """
[program:web]
command=run
autoreload_signal=SIGHUP
[program:worker]
command=work
[program:sidecar]
command=side
autoreload=false
[program:migrate]
command=migrate
oneshot=true
autoreload=true
autoreload_patterns=*/migrations/*.py, extra/*.sql
[program:collectstatic]
command=collect
oneshot=true
""",
    )
    options = Options(project_dir=str(project), exclude=("alpha_worker", "alpha_cron", "beta_cron"))
    with override_settings(DEBUG=True):
        assert reloading(build(options)) == {
            "web": ("HUP", ["*.py"], True),
            "worker": (None, ["*.py"], True),
            # A one-shot runs again only if it asks to, and only on its own patterns.
            "migrate": (None, ["*/migrations/*.py", "extra/*.sql"], False),
        }
        # Naming a program on the command line reloads it even if its file opts out.
        assert list(reloading(build(replace(options, autoreload=("sidecar",))))) == ["sidecar"]
        with override_settings(SUPERVISOR_AUTORELOAD_PATTERNS=["*.py", "*.txt"]):
            assert reloading(build(options))["worker"] == (None, ["*.py", "*.txt"], True)
        assert reloading(build(replace(options, noreload=True))) == {}
    # Without DEBUG there is no autoreload program, and nothing reloads.
    assert reloading(build(options)) == {}


def test_empty_autoreload_patterns_are_an_error(project: Path) -> None:
    write_conf(project, "[program:web]\ncommand=run\nautoreload_patterns= ,\n")
    with override_settings(DEBUG=True), pytest.raises(ConfigError, match="autoreload_patterns"):
        build(Options(project_dir=str(project)))


def test_supervisord_may_open_enough_descriptors_for_every_process(project: Path) -> None:
    write_conf(project, "".join(f"[program:p{n}]\ncommand=run\n" for n in range(300)))
    supervisord = build(Options(project_dir=str(project))).merged.sections["supervisord"]
    assert int(supervisord["minfds"]) >= 5 * 300
    write_conf(project, "[program:few]\ncommand=run\n")
    assert "minfds" not in build(Options(project_dir=str(project))).merged.sections["supervisord"]


@pytest.mark.parametrize(
    ("conf", "own"),
    [
        ("", True),
        ("[supervisorctl]\nusername=djsupervisor\n", True),  # as djsupervisor would give
        ("[supervisorctl]\npassword=typo\n", False),
        ("[supervisorctl]\nusername=me\n", False),
        ("[inet_http_server]\nport=127.0.0.1:9001\nusername=a\npassword=b\n", False),  # theirs
    ],
)
def test_the_console_checks_only_credentials_the_user_wrote(
    project: Path, conf: str, own: bool
) -> None:
    write_conf(project, "[program:web]\ncommand=run\n" + conf)
    assert build(Options(project_dir=str(project))).own_credentials is own


def test_users_defaults_and_overrides_spare_djsupervisors_own_programs(project: Path) -> None:
    write_conf(
        project,
        "[program:web]\ncommand=run\n"
        "[program:__defaults__]\nautostart=false\nexclude=false\n"
        "[program:__overrides__]\nuser=nobody\n",
    )
    with override_settings(DEBUG=True):
        config = build(Options(project_dir=str(project)))
    assert config.merged.sections["program:web"]["user"] == "nobody"
    autoreload = config.merged.sections["program:autoreload"]
    assert "user" not in autoreload and "autostart" not in autoreload
    assert autoreload["stopasgroup"] == "true"  # djsupervisor's own defaults still apply


def test_environment_files_are_relative_to_the_file_naming_them(project: Path) -> None:
    deploy = project / "deploy"
    deploy.mkdir()
    write_conf(
        deploy,
        "[program:web]\ncommand=sleep 1\n"
        'environment_file=web.env, more.env\nenvironment=MODE="explicit"\n',
    )
    (deploy / "web.env").write_text('# web\nexport A="1"\nB=${A}2\nMODE=file\n')
    (deploy / "more.env").write_text("C='${B} as written'\n")
    (project / ".env").write_text("BASE=yes\nA=base\n")
    with override_settings(SUPERVISOR_CONFIG_FILE=str(deploy / "supervisord.conf")):
        config = build(Options(project_dir=str(project)))
    environment = config.environments["program:web"]
    assert environment.files == (project / ".env", deploy / "web.env", deploy / "more.env")
    # The program's files over the project's, its own environment= over both;
    # python-dotenv expands ${VAR} within single quotes too.
    assert environment.secrets == {"BASE": "yes", "A": "1", "B": "12", "C": "12 as written"}
    assert environment.explicit == {"MODE": "explicit"}


@pytest.mark.parametrize(
    ("setting", "expected"),
    [(".env", {"FROM": "dotenv"}), ("conf/app.env", {"FROM": "setting"}), (None, None)],
)
def test_the_project_environment_file_setting(
    project: Path, setting: str | None, expected: dict[str, str] | None
) -> None:
    write_conf(project, "[program:web]\ncommand=sleep 1\n")
    (project / ".env").write_text("FROM=dotenv\n")
    (project / "conf").mkdir()
    (project / "conf" / "app.env").write_text("FROM=setting\n")
    with override_settings(SUPERVISOR_ENV_FILE=setting):
        config = build(Options(project_dir=str(project)))
    environment = config.environments.get("program:web")
    assert (environment.secrets if environment else None) == expected


def test_a_missing_named_environment_file(project: Path) -> None:
    write_conf(project, "[program:web]\ncommand=sleep 1\n")
    with (
        override_settings(SUPERVISOR_ENV_FILE="prod.env"),
        pytest.raises(ConfigError, match=r"prod.env does not exist; create it, or fix"),
    ):
        build(Options(project_dir=str(project)))

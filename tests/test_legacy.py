"""django-supervisor's spellings still work, and a check says what can go."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.checks import LEFTOVER, check_supervisor_config
from djsupervisor.config.build import build
from djsupervisor.config.legacy import runs_old_autoreload
from djsupervisor.options import Options

# As django-supervisor's README had it.
OLD_TAGS = """{% load djsupervisor_tags %}
[program:nginx]
command=nginx -c {{ "NGINX_CONF"|templated }}
"""
OLD_AUTORELOAD = """[program:web]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py runserver --noreload

[program:autoreload]
command={{ PYTHON }} {{ PROJECT_DIR }}/manage.py supervisor {{ SUPERVISOR_OPTIONS }} autoreload
autorestart=true
redirect_stderr=true
exclude={{ settings.DEBUG|yesno:"false,true" }}
"""


def programs(sections: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    return {name: options for name, options in sections.items() if name.startswith("program:")}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "nginx.conf").write_text("root {{ PROJECT_DIR }};\n")
    return tmp_path


def built(project: Path, text: str, debug: bool) -> tuple[dict[str, dict[str, str]], list[str]]:
    conf_file = project / "supervisord.conf"
    conf_file.write_text(text.replace("NGINX_CONF", str(project / "nginx.conf")))
    with override_settings(DEBUG=debug, SUPERVISOR_CONFIG_FILE=str(conf_file)):
        config = build(Options())
        checks = [(m.id, m.msg) for m in check_supervisor_config() if m.id == LEFTOVER]
    assert [message for _, message in checks] == config.notes
    return config.merged.sections, config.notes


def test_the_old_tag_library_loads_and_can_go(project: Path) -> None:
    sections, notes = built(project, OLD_TAGS, debug=False)
    assert sections["program:nginx"]["command"].startswith("nginx -c /")
    assert notes == [
        f"{project / 'supervisord.conf'}: {{% load djsupervisor_tags %}} can go: "
        "djsupervisor's filters need no {% load %}"
    ]


@pytest.mark.parametrize("debug", [True, False])
def test_the_old_autoreload_program_gives_way_and_can_go(project: Path, debug: bool) -> None:
    sections, notes = built(project, OLD_AUTORELOAD, debug=debug)
    assert notes == [
        f"{project / 'supervisord.conf'}: [program:autoreload] can go: djsupervisor runs "
        "its own autoreload program in debug mode"
    ]
    # djsupervisor's own, in debug mode, as if the section were not there
    web_only, _ = built(project, OLD_AUTORELOAD.split("[program:autoreload]")[0], debug=debug)
    assert programs(sections) == programs(web_only)
    assert ("program:autoreload" in sections) is debug


def test_djsupervisors_own_autoreload_section_stays(project: Path) -> None:
    web = OLD_AUTORELOAD.split("[program:autoreload]")[0]
    sections, notes = built(project, web + "[program:autoreload]\nexclude=true\n", debug=True)
    assert "program:autoreload" not in sections  # excluded, as asked
    assert notes == []


@pytest.mark.parametrize(
    ("command", "old"),
    [
        ("/venv/bin/python /srv/app/manage.py supervisor autoreload", True),
        ("python manage.py supervisor --project-dir=/srv/app autoreload", True),
        ("python manage.py supervisor status", False),
        ("python -m djsupervisor.autoreload", False),
        ("python manage.py 'unclosed", False),
    ],
)
def test_the_old_autoreload_command_is_recognised(command: str, old: bool) -> None:
    assert runs_old_autoreload(command) is old

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.test import override_settings

from djsupervisor.config.quoting import unmark
from djsupervisor.config.render import Renderer
from djsupervisor.errors import ConfigError
from djsupervisor.options import Options


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    return Renderer(tmp_path, tmp_path / "out", Options(exclude=("web",)))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@override_settings(GREETING="a & b")
def test_context_variables(
    renderer: Renderer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJS_TEST", "<env>")
    conf = write(
        tmp_path / "supervisord.conf",
        "{{ PROJECT_DIR }}|{{ APP_DIR }}|{{ PYTHON }}|{{ SUPERVISOR_OPTIONS }}|"
        "{{ settings.GREETING }}|{{ environ.DJS_TEST }}|{{ LISTEN_FD }}",
    )
    rendered = unmark(renderer.render_file(conf, app_dir=tmp_path / "app"))
    # No HTML autoescaping: this is an ini file.
    expected = f"{tmp_path}|{tmp_path / 'app'}|{sys.executable}|--exclude web|a & b|<env>|3"
    assert rendered == expected


def test_templated_filter_renders_a_copy(renderer: Renderer, tmp_path: Path) -> None:
    write(tmp_path / "deploy" / "nginx.conf", "root {{ PROJECT_DIR }};")
    conf = write(tmp_path / "supervisord.conf", 'nginx -c {{ "deploy/nginx.conf"|templated }}')
    copy = tmp_path / "out" / "deploy" / "nginx.conf"
    assert unmark(renderer.render_file(conf)) == f"nginx -c {copy}"
    assert renderer.copies == {copy: f"root {tmp_path};"}
    assert not copy.exists()  # written with the config, not while rendering


def test_templated_filter_missing_file(renderer: Renderer, tmp_path: Path) -> None:
    conf = write(tmp_path / "supervisord.conf", '\n{{ "nope.conf"|templated }}')
    with pytest.raises(ConfigError, match=r"templated: nope.conf: no such file"):
        renderer.render_file(conf)


def test_template_syntax_error_names_file_and_line(renderer: Renderer, tmp_path: Path) -> None:
    conf = write(tmp_path / "supervisord.conf", "[program:web]\ncommand=x\n{% if %}\n")
    with pytest.raises(ConfigError, match=rf"^{tmp_path}/supervisord.conf, line 3: template error"):
        renderer.render_file(conf)


def test_unknown_filter_is_a_template_error(renderer: Renderer, tmp_path: Path) -> None:
    conf = write(tmp_path / "supervisord.conf", "{{ PYTHON|nosuchfilter }}")
    with pytest.raises(
        ConfigError, match=r"line 1: template error: Invalid filter: 'nosuchfilter'"
    ):
        renderer.render_file(conf)


def test_unreadable_file(renderer: Renderer, tmp_path: Path) -> None:
    conf = write(tmp_path / "supervisord.conf", "")
    conf.write_bytes(b"\xff\xfe bad")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        renderer.render_file(conf)


def test_a_file_that_includes_itself_is_named(renderer: Renderer, tmp_path: Path) -> None:
    write(tmp_path / "a.conf", '{{ "b.conf"|templated }}')
    write(tmp_path / "b.conf", '{{ "a.conf"|templated }}')
    conf = write(tmp_path / "supervisord.conf", '{{ "a.conf"|templated }}')
    with pytest.raises(ConfigError, match=r"a.conf: templated: the file includes itself \("):
        renderer.render_file(conf)

"""Filters for the export templates: YAML values (Compose's too), and systemd's quoting.

``{% load djsupervisor_export %}`` in a template of your own that overrides
one of ``djsupervisor/export/...``.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from django import template

register = template.Library()
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


@register.filter
def yaml(value: Any) -> str:
    """Return ``value`` as a YAML scalar or flow collection (JSON is YAML)."""
    return json.dumps(value, ensure_ascii=False)


@register.filter
def yaml_block(value: Any, indent: int = 0) -> str:
    """Return a mapping or list as block YAML, each line indented by ``indent`` spaces."""
    return "\n".join(" " * int(indent) + line for line in _block(value))


def _dollars(value: Any) -> Any:
    """Return ``value`` with ``$`` doubled in every string: Compose reads ``$X`` as a variable."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {_dollars(key): _dollars(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dollars(item) for item in value]
    return value


@register.filter
def compose(value: Any) -> str:
    """Return ``value`` as a YAML value of a Compose file: its own ``$`` kept, not interpolated."""
    return yaml(_dollars(value))


@register.filter
def compose_block(value: Any, indent: int = 0) -> str:
    """Return a mapping or list as block YAML for a Compose file (``$`` kept)."""
    return yaml_block(_dollars(value), indent)


def _key(key: str) -> str:
    return key if PLAIN_KEY.match(key) else json.dumps(key)


def _block(value: Any) -> list[str]:
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{_key(str(key))}:")
                lines += ["  " + line for line in _block(item)]
            else:
                lines.append(f"{_key(str(key))}: {yaml(item)}")
    elif isinstance(value, list):
        for item in value:
            inner = _block(item) if isinstance(item, (dict, list)) and item else [yaml(item)]
            lines.append(f"- {inner[0]}")
            lines += ["  " + line for line in inner[1:]]
    else:
        lines.append(yaml(value))
    return lines


def _systemd_escape(text: str) -> str:
    """Escape what systemd would take for a specifier (%), in any setting."""
    # Here, not on top: Django loads every template-tag library when its
    # engine starts, on every start of the programs, which export does not use.
    from ..export.model import INSTANCE

    return text.replace("%", "%%").replace(INSTANCE, "%i")


@register.filter
def systemd_word(value: str) -> str:
    """Return ``value`` as one double-quoted word of a systemd setting (on one line)."""
    escaped = _systemd_escape(value).replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n")  # systemd reads C escapes in a quoted word
    return f'"{escaped}"'


@register.filter
def systemd_command(value: str) -> str:
    """Return a command line as systemd's ExecStart= takes it: each word quoted.

    Only command lines expand variables (``$NAME``, ``${NAME}``): there a
    ``$`` is written ``$$``; Environment= and paths take it as it is.
    """
    return " ".join(systemd_word(word.replace("$", "$$")) for word in shlex.split(value))


@register.filter
def systemd_path(value: str) -> str:
    """Return a path for a systemd setting that takes one (no quotes there)."""
    return _systemd_escape(value)

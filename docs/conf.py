"""Sphinx configuration for djsupervisor's documentation."""

from __future__ import annotations

import os
import sys

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(DOCS_DIR, "_ext"))
sys.path.insert(0, os.path.dirname(DOCS_DIR))  # the package, when not installed

import djsupervisor  # noqa: E402

project = "djsupervisor"
author = "djsupervisor developers"
copyright = "djsupervisor developers"
release = djsupervisor.__version__
version = ".".join(release.split(".")[:2])

extensions = ["djsupervisor_help", "djsupervisor_export", "sphinx_copybutton"]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"
highlight_language = "text"

# furo scrolls wide code blocks instead of cutting them; copy buttons leave out prompts.
html_theme = "furo"
html_title = "djsupervisor"
copybutton_prompt_text = "$ "
html_static_path: list[str] = []

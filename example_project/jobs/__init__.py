"""Demo app: enqueue a word count from the web, run it in the worker."""

from __future__ import annotations

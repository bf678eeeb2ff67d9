"""The autoreload program's entry point, which supervisord runs in the project directory.

``python -m djsupervisor.autoreload [--settings MODULE] [supervisor options]``
builds the project's config as ``manage.py supervisor`` with the same
options did, then watches the code until supervisord stops it.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..options import add_arguments


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m djsupervisor.autoreload",
        description="Restart the project's programs when its code changes.",
    )
    parser.add_argument("--settings", help="The Django settings module.")
    add_arguments(parser)
    parsed = parser.parse_args(argv)
    if parsed.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = parsed.settings

    import django

    django.setup()

    from ..config.build import build
    from ..errors import DjsupervisorError
    from ..options import Options
    from .main import run

    options = Options.from_parsed(vars(parsed))
    try:
        config = build(options)
    except DjsupervisorError as exc:
        sys.exit(f"autoreload: {exc}")
    run(config, log)


def log(message: str) -> None:
    """Write a line of the program's log at once: supervisord keeps it, the console shows it."""
    print(message, flush=True)


if __name__ == "__main__":
    main()

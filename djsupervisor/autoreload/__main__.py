"""The autoreload program's entry point, which supervisord runs in the project directory.

``python -m djsupervisor.autoreload --plan PATH`` watches the code as the
plan that ``manage.py supervisor`` wrote says (plan.py), without Django:
the command has done the Django part. A supervisord started by an earlier
djsupervisor runs it with the options instead; ``manage.py supervisor
update`` gives it the plan.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .main import run
from .plan import Plan


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m djsupervisor.autoreload",
        description="Restart the project's programs when its code changes.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--plan",
        type=Path,
        required=True,
        help="The plan 'manage.py supervisor' wrote: what to watch, and how to reach supervisord.",
    )
    parsed, rest = parser.parse_known_args(argv)
    if rest:  # an earlier djsupervisor's options: --settings, -r ...
        parser.error(f"unrecognized arguments: {' '.join(rest)}; run 'manage.py supervisor update'")
    try:
        plan = Plan.read(parsed.plan)
    except (OSError, ValueError) as exc:
        sys.exit(f"autoreload: cannot read the plan: {exc}; run 'manage.py supervisor update'")
    run(plan, log, parsed.plan)


def log(message: str) -> None:
    """Write a line of the program's log at once: supervisord keeps it, the console shows it."""
    print(message, flush=True)


if __name__ == "__main__":
    main()

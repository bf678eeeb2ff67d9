"""Preset: a huey consumer (``run_huey``), workers and periodic tasks, under supervisord."""

"""Preset: django-tasks' database worker (``db_worker``) under supervisord."""

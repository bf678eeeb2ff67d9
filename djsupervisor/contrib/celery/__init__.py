"""Preset: a Celery worker and Celery beat, its one scheduler, under supervisord."""

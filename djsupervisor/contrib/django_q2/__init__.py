"""Preset: a django-q2 cluster (``qcluster``), workers and scheduler in one, under supervisord."""

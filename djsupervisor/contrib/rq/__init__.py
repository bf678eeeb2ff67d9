"""Preset: an RQ worker with RQ's scheduler (django-rq's ``rqworker``) under supervisord."""

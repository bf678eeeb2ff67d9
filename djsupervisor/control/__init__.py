"""The commands' side: start supervisord, hand over to the console, control and stop it.

Runs in the ``manage.py supervisor`` command and in the console it execs
(``python -m djsupervisor.control``), which loads no Django: the config is
imported here for type checking only.
"""

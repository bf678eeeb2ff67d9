"""Presets: apps that add a task queue's programs to the project's supervisord config.

Each is an app to add to ``INSTALLED_APPS``; its ``management/supervisord.conf``
defines the queue's worker (and scheduler) programs, which the project
overrides or excludes like any app's. They use djsupervisor's public hook for
presets, ``djsupervisor.presets``, and nothing else of it, as a third-party
preset would. See docs/presets/index.rst.
"""

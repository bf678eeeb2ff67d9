"""Run supervisord and talk to it: start, stop, status, the console and its listener."""

"""The code that runs inside supervisord: its rpcinterface and what it starts there.

Standard library and supervisor only (tests/test_layout.py): supervisord
loads no Django. docs/how-it-works.rst draws the processes.
"""

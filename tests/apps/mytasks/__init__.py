"""A third-party preset, as docs/presets/index.rst shows how to write one."""

"""Build the supervisord config: discover, render, parse, merge, secure, check."""

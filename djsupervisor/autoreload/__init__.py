"""The autoreload program: watch the code and reload programs when it changes."""

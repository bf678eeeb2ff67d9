"""What a terminal sees: the console, status and logs, and the command's own output."""

"""Export the project's programs to a Procfile, systemd units, Docker Compose or Kubernetes."""

"""`python -m auth_service` is the `corestore` command (for environments without the script)."""

from auth_service.cli import app

app()

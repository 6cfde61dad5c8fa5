"""`python -m auth_service` is the `corestore` command (for environments without the script)."""

from devtools.cli import app

app()

"""``python -m consent translations check`` works without an app."""

from consent.cli import consent_cli

consent_cli(prog_name="python -m consent")

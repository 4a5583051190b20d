"""Command-line interface (typer). Each subcommand lives in its own module."""

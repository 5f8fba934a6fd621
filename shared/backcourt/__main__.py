"""``python -m backcourt`` runs the CLI."""

from backcourt.cli import main

main()

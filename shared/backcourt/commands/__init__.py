"""CLI commands kept in their own modules. Each public module defines ``register(app)``, which
adds its commands to the ``backcourt`` typer app; ``backcourt.cli`` imports them all. Shared
helpers (console, services, option parsing) come from ``backcourt.cli``: import it inside
``register`` or the command functions, never at module top (``cli`` imports this package)."""

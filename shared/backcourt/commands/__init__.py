"""CLI commands kept in their own modules. Each defines ``register(app)``, which adds its
commands to the ``backcourt`` typer app; ``backcourt.cli`` registers them
(``cli.COMMAND_MODULES``). What they share with ``backcourt.cli`` (consoles, option types, the
invocation's services, option parsing) is in ``backcourt.commands.common``; a command module
never imports ``backcourt.cli``."""

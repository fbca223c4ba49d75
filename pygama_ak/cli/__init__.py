"""The ``pygama-ak`` command line (Typer); see :mod:`pygama_ak.cli.app`."""

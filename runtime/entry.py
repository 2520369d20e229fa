"""The `glassdesk` console script. Kept tiny so that every command starts fast: the CLI's help is
plain text (typer without rich, which alone costs about 0.15 s to import), and each command imports
what it needs when it runs."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("TYPER_USE_RICH", "0")
    from runtime.cli import main as cli_main

    cli_main()

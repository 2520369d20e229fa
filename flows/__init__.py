"""Composition and orchestration: settings, bootstrap, Prefect flows, the worker and the CLI.

Nothing here imports prefect at package import time; flow modules do, on demand."""

__all__: list[str] = []

"""Contract tests: one set of cases that every implementation of a port must pass (adapters and fakes)."""

__all__: list[str] = []

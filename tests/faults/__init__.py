"""Fault tests: the whole product under ``glassdesk run`` with real processes, crashed and cut off."""

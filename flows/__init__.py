"""Prefect flows and their tasks only: the turn and its steps, and the ops flows."""

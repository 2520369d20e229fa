"""The runtime: the composition root (every concrete adapter built from Settings), the CLI, the
supervisor of `glassdesk run` and the worker loop."""

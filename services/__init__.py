"""Application services the web, the worker and the CLI share: settings, delivery, the agent desk,
identity verification, policy administration, ingest, the reconciler and the ops figures."""

"""The HTTP surface: webhooks, chat socket, status pages, agent inbox, admin and ops pages."""

from web.app import create_app

__all__ = ["create_app"]

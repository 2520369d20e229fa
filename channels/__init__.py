"""Channel adapters: email, SMS (Twilio) and web chat. Each verifies and parses inbound traffic and
renders outbound messages. Channels import `conversation` and their own vendor SDK, never each other."""

__all__: list[str] = []

"""Development tools: the local SMTP relay and Twilio sinks, demo data and the demo claims portal."""

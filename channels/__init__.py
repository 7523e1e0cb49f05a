"""One adapter per channel: inbound (server, poller, webhook) and outbound replies; the ASGI app."""

"""The HTTP server's routes: webhooks, health, file and upload links."""

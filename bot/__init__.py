"""The edge and the wiring: settings, CLI, channel adapters, HTTP server, start/stop."""

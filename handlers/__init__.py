"""Conversations and commands, written once for every channel. Never imports a channel library."""

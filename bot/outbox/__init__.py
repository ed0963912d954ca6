"""Sending what the outbox holds: the dispatcher, its outcomes, pacing, broadcasts, the daily scan."""

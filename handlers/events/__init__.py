"""Trainings and fairs: browsing and registering, and officers adding them."""

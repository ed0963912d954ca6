"""What producers do: register, re-evaluate, status, supplements, linking, their data, reminders."""

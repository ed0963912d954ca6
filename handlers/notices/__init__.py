"""Messages the bot sends on its own: notices about records, the daily reminders."""

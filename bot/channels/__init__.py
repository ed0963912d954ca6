"""Chat platforms: Telegram, Zalo, the web chat, and what they share."""

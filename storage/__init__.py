"""Every table and every query. Imports nothing from bot/ or handlers/."""

"""Text shaping shared by the channel adapters."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Pieces under the channel's limit, cut at paragraph or line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    return pieces + [text]

"""Text shaping shared by the channel adapters."""

from __future__ import annotations

from dataclasses import replace

from handlers.types import Reply


def split_text(text: str, limit: int) -> list[str]:
    """Pieces under the channel's limit, cut at paragraph or line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n\n", 0, limit), text.rfind("\n", 0, limit))
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    return pieces + [text]


def merged(replies: list[Reply], limit: int) -> list[Reply]:
    """Consecutive replies as fewer messages: a plain text (no buttons, no files) joins the text that follows it.
    Platforms allow about one message a second in a chat, so "saved" + "next question" as two messages made every
    answer wait a second for its question."""
    out: list[Reply] = []
    for reply in replies:
        before = out[-1] if out else None
        if (before is not None and _plain(before) and reply.text and not reply.from_part
                and len(before.text) + 2 + len(reply.text) <= limit):
            out[-1] = replace(reply, text=f"{before.text}\n\n{reply.text}",
                              journal_rows=before.journal_rows + reply.journal_rows)
        else:
            out.append(reply)
    return out


def _plain(reply: Reply) -> bool:
    return bool(reply.text) and not (reply.options or reply.attachments or reply.request_contact or reply.from_part
                                     or reply.upload_hint or reply.accepts)

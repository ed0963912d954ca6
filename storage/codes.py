"""One-time codes people type (officer invites, producer link codes): readable, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

# No 0/O, 1/I/L: codes are read aloud over the phone and typed on small keyboards.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_code(length: int = 10) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def normalize_code(typed: str) -> str:
    return "".join(c for c in typed.upper() if c.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()

"""The states an outbox row and a broadcast go through, named once (the models, storage and the bot all use them)."""

from __future__ import annotations

# An outbox row: waiting, claimed by a sender, then one final state.
PENDING, SENDING, SENT, FAILED, UNREACHABLE, SKIPPED = "pending", "sending", "sent", "failed", "unreachable", "skipped"
CANCELLED = "cancelled"  # a broadcast stopped before this row went out
SHOWN, PUSHED = "shown", "pushed"  # a web notice written to an open page / accepted by the Web Push service
DELIVERED = (SENT, SHOWN, PUSHED)
OUTBOX_STATUSES = (PENDING, SENDING, SENT, SHOWN, PUSHED, FAILED, UNREACHABLE, SKIPPED, CANCELLED)

# A broadcast: scheduled (or due now), being sent, then done or cancelled.
BROADCAST_SCHEDULED, BROADCAST_SENDING = "scheduled", "sending"
BROADCAST_DONE, BROADCAST_CANCELLED = "done", "cancelled"
BROADCAST_ACTIVE = (BROADCAST_SCHEDULED, BROADCAST_SENDING)

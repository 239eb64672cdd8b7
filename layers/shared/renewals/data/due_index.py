"""Placement of accounts in the sharded reminder-due index (ReminderDueIndex)."""

from __future__ import annotations

import hashlib


def due_shard(account_id: str, shard_count: int) -> int:
    """Return the index partition of an account, from 0 to `shard_count` - 1.

    The shard comes from SHA-256 of the account id, so every process and every run computes the same one. Python's
    built-in hash() of a string changes per process and cannot be used here.
    """
    if shard_count < 1:
        raise ValueError(f"shard_count must be at least 1, got {shard_count}")
    digest = hashlib.sha256(account_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shard_count

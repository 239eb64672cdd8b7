"""Corrections to moto where it is weaker than the AWS service it imitates."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

ITEM_OPERATIONS = ("put_item", "update_item", "get_item", "delete_item")


def serialize_dynamodb_item_operations(set_attribute: Callable[[Any, str, Any], None] = setattr) -> None:
    """Run moto's DynamoDB item operations one at a time, as DynamoDB applies each item write atomically.

    moto 5.2 evaluates a condition and applies the write in separate steps without a lock, so two threads could
    both pass one conditional write, which DynamoDB never allows. Tests pass `monkeypatch.setattr` to undo it.
    """
    lock = threading.RLock()
    for name in ITEM_OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_serialized", False):
            continue

        @functools.wraps(original)
        def locked(self: DynamoDBBackend, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        locked._serialized = True  # type: ignore[attr-defined]
        set_attribute(DynamoDBBackend, name, locked)

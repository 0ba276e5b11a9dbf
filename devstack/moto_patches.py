"""A faster rollback for moto's TransactWriteItems, for the long-lived local server only.

moto 5.2.5 backs up the *whole table* with `copy.deepcopy` once per transaction item before applying a
transaction (docs/decisions/0004). On a table that grows for the life of `make run` (and the stream shard
with it), every claim or settlement then costs O(table size × items): a 200-worker claim race took minutes.
This patch snapshots only the items the transaction names (and the stream length), runs moto's own logic
with the whole-table copy turned into a no-op, and on cancellation restores exactly those items. Semantics
are moto's: the same checks, the same errors. The server's request lock makes the swap of `copy.deepcopy`
safe (one DynamoDB request at a time).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_installed = False
_lock = threading.Lock()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb import models as ddb_models
        from moto.dynamodb.models.dynamo_type import DynamoType
        from moto.dynamodb.models.table import Table

        original = ddb_models.DynamoDBBackend.transact_write_items
        real_deepcopy = copy.deepcopy

        def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> tuple[Any, Any]:
            attrs = op["Item"] if op_type == "Put" else op["Key"]
            h = DynamoType(attrs[table.hash_key_attr])
            r = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
            return h, r

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            snapshots: list[tuple[Table, Any, Any, Any]] = []
            streams: dict[int, tuple[Any, int]] = {}
            try:
                for entry in transact_items:
                    op_type, op = next(iter(entry.items()))
                    table = self.tables.get(op.get("TableName"))
                    if table is None:
                        continue
                    h, r = _key_of(table, op_type, op)
                    current = table.get_item(h, r) if (r is not None or not table.range_key_attr) else None
                    snapshots.append((table, h, r, real_deepcopy(current) if current is not None else None))
                    if table.stream_shard is not None and id(table) not in streams:
                        streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            except Exception:
                return original(self, transact_items)  # malformed input: let moto raise its own error

            def no_table_copy(obj: Any, memo: Any = None) -> Any:
                return obj if isinstance(obj, Table) else real_deepcopy(obj, memo)

            copy.deepcopy = no_table_copy  # type: ignore[assignment]
            try:
                return original(self, transact_items)
            except Exception:
                for table, h, r, before in reversed(snapshots):
                    bucket = table.items
                    if r is None:
                        if before is None:
                            bucket.pop(h, None)
                        else:
                            bucket[h] = before
                    elif before is None:
                        if h in bucket:
                            bucket[h].pop(r, None)
                            if not bucket[h]:
                                del bucket[h]
                    else:
                        bucket[h][r] = before
                for shard, length in streams.values():
                    del shard.items[length:]
                raise
            finally:
                copy.deepcopy = real_deepcopy  # type: ignore[assignment]

        ddb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        _installed = True

"""The locked moto server for `make bench`, with two costs of moto's own taken out so the figures time our code:

- a base-table Query is handed its one partition (moto 5.2.5 sorts every item of the table first, seconds a
  call at the bench's ~250,000 items; DynamoDB reads only the partition): `hall_seed.partition_queries`;
- no stream records: the bench runs no stream consumer, and moto builds (and JSON-sizes) a record for every
  write, a large share of what seeding a quarter of a million items costs.

    python -m tests.bench.moto_fast --port 0        # prints READY <endpoint>, serves until SIGTERM
"""

from __future__ import annotations

import sys
from typing import Any

from devstack import moto_server
from tests.api.tasks.hall_seed import partition_queries


def _no_stream_records() -> None:
    from moto.dynamodb.models.table import StreamShard

    def add(self: Any, old: Any, new: Any) -> None:
        return None

    StreamShard.add = add  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    _no_stream_records()
    with partition_queries():
        moto_server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])

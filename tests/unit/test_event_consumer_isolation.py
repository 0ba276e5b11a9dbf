"""One failing stream consumer does not keep the others from the record; the record still fails."""

from __future__ import annotations

import pytest

from chalicelib.services import events


def test_a_failing_consumer_does_not_stop_the_others_and_the_record_still_fails():
    seen: list[str] = []

    def broken(change: events.Change) -> None:
        raise RuntimeError("rule bug")

    def faithful(change: events.Change) -> None:
        seen.append(change.event_id)

    events.on_change("probe_kind")(broken)
    events.on_change("probe_kind")(faithful)
    try:
        change = events.Change("ev-1", "INSERT", "probe_kind", {}, {"kind": "probe_kind"}, None, "1")
        with pytest.raises(RuntimeError, match="rule bug"):
            events.handle_change(change)
        assert seen == ["ev-1"]
    finally:
        events.unregister(broken)
        events.unregister(faithful)

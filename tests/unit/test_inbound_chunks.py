"""How a fetched NATS batch is dealt into transactions (adapters.nats.inbound.deal_into_chunks):
every lane (one user's events) whole and in order in one chunk, no more chunks than transactions
allowed at a time, and no tiny chunks when the batch is small."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.nats.inbound import CHUNK_EVENTS, deal_into_chunks


@given(
    st.lists(st.lists(st.integers(), min_size=1, max_size=12), max_size=60),
    st.integers(min_value=1, max_value=16),
)
def test_lanes_stay_whole_and_ordered_within_the_chunk_limit(
    lanes: list[list[int]], most: int
) -> None:
    tagged = [[(n, i) for i in range(len(lane))] for n, lane in enumerate(lanes)]
    chunks = deal_into_chunks(tagged, most)

    total = sum(len(lane) for lane in tagged)
    assert sum(len(c) for c in chunks) == total
    assert len(chunks) <= max(1, min(most, total // CHUNK_EVENTS))
    for lane in tagged:
        [holder] = [c for c in chunks if lane[0] in c]
        assert [item for item in holder if item[0] == lane[0][0]] == lane


def test_a_small_batch_is_one_chunk_and_a_large_one_uses_every_slot() -> None:
    assert len(deal_into_chunks([[i] for i in range(CHUNK_EVENTS * 2 - 1)], 8)) == 1
    assert len(deal_into_chunks([[i] for i in range(CHUNK_EVENTS * 8)], 8)) == 8

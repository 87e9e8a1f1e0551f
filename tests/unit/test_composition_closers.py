"""The composition root's shutdown list: closed last-opened first, each resource once."""

from __future__ import annotations

from server.composition.closers import Closers


async def test_resources_close_in_the_reverse_of_the_order_they_were_opened():
    closed: list[str] = []
    closers = Closers()
    for name in ("store", "event publisher", "rate limiter"):

        async def close(name: str = name) -> None:
            closed.append(name)

        closers.register(close)

    await closers.close_all()
    await closers.close_all()

    assert closed == ["rate limiter", "event publisher", "store"]

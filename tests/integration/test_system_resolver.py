"""The real HostResolver adapter: the event loop's getaddrinfo. Only `localhost` is asked (the
hosts file answers it), so the test stays on the machine."""

from __future__ import annotations

from adapters.dns import SystemResolver
from domain.campaigns.webhooks import resolved_problem


async def test_localhost_resolves_to_loopback_and_is_refused() -> None:
    resolver = SystemResolver()

    addresses = await resolver.resolve("localhost")

    assert addresses
    assert set(addresses) <= {"127.0.0.1", "::1"}
    assert "loopback" in (await resolved_problem("localhost", resolver) or "")


async def test_an_unreadable_name_resolves_to_nothing() -> None:
    assert await SystemResolver().resolve("a..b") == []

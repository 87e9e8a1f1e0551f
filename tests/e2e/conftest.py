"""One real `campaign-service serve` process per backend, shared by every e2e test.

The `server` fixture is parametrized over the embedded SQLite default and Postgres, so each test
runs against both. Tests isolate themselves by organization (a fresh org id each), never by
restarting the server; only the operations tests start processes of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
import pytest

from tests.e2e.helpers import BACKENDS, CampaignApi, Grpcurl, mint_token, new_org
from tests.support.server_process import ServerProcess, backend_env, start_server


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    kind: str = request.param
    with backend_env(kind, tmp_path_factory.mktemp(f"server-{kind}")) as env:
        process = start_server(env)
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture
def live_server(server: ServerProcess) -> ServerProcess:
    """The shared server, checked to be still running (a crash shows its log, not UNAVAILABLE)."""
    code = server.process.poll()
    if code is not None:
        pytest.fail(f"the shared server exited with code {code}:\n{server.log[-5000:]}")
    return server


@pytest.fixture(scope="session")
def shared_channel(server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as opened:
        yield opened


@pytest.fixture
def channel(live_server: ServerProcess, shared_channel: grpc.Channel) -> grpc.Channel:
    return shared_channel


@pytest.fixture
def org() -> str:
    """A fresh organization: every test starts with no campaigns of its own."""
    return new_org()


@pytest.fixture
def api_as(channel: grpc.Channel) -> Callable[..., CampaignApi]:
    """`api_as(org, role)`: a CampaignService client with a valid token for that caller."""

    def make(org: str, role: str = "admin") -> CampaignApi:
        return CampaignApi(channel, mint_token(org, role))

    return make


@pytest.fixture
def api(api_as: Callable[..., CampaignApi], org: str) -> CampaignApi:
    return api_as(org)


@pytest.fixture
def grpcurl(live_server: ServerProcess) -> Grpcurl:
    return Grpcurl(live_server.address)

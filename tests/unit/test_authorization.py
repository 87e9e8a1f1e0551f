"""The role table (server.authorization) covers every RPC the server offers, and holds the rule
of the spec: users read; admin, service and system write, estimate and preview."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool

from domain.kernel.errors import PermissionDeniedError
from domain.kernel.principal import Principal, Role
from server.authorization import RPC_ROLES, authorize
from server.composition.application import SERVICE_NAMES
from tests.support.roles import USER_MAY_CALL


def every_rpc() -> list[str]:
    pool = descriptor_pool.Default()
    return [
        f"/{name}/{method.name}"
        for name in SERVICE_NAMES
        for method in pool.FindServiceByName(name).methods
    ]


def caller(*roles: Role) -> Principal:
    return Principal(organization_id="org-a", subject="someone", roles=frozenset(roles))


def test_the_table_names_exactly_the_rpcs_the_server_offers() -> None:
    assert sorted(RPC_ROLES) == sorted(every_rpc())


@pytest.mark.parametrize("method", every_rpc())
def test_users_may_call_the_reads_only(method: str) -> None:
    if method.rsplit("/", 1)[-1] in USER_MAY_CALL:
        authorize(caller(Role.USER), method)
    else:
        with pytest.raises(PermissionDeniedError):
            authorize(caller(Role.USER), method)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SERVICE, Role.SYSTEM])
@pytest.mark.parametrize("method", every_rpc())
def test_admin_service_and_system_may_call_every_rpc(role: Role, method: str) -> None:
    authorize(caller(role), method)


@pytest.mark.parametrize(
    "method",
    [
        "/campaign.v1.AudienceService/EstimateAudience",
        "/campaign.v1.CampaignService/PreviewMessage",
    ],
)
def test_estimates_and_previews_are_not_for_users(method: str) -> None:
    with pytest.raises(PermissionDeniedError, match="admin, service or system"):
        authorize(caller(Role.USER), method)


def test_no_role_may_call_an_rpc_missing_from_the_table() -> None:
    with pytest.raises(PermissionDeniedError):
        authorize(caller(*Role), "/campaign.v1.CampaignService/SomethingNew")


def test_a_principal_without_roles_may_not_even_read() -> None:
    with pytest.raises(PermissionDeniedError):
        authorize(caller(), "/campaign.v1.CampaignService/GetCampaign")

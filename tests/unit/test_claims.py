"""Claims of a correctly signed token are read strictly (server.claims, server.tokens): a claim of
the wrong type is UNAUTHENTICATED, never coerced into a role or a tenant, never INTERNAL."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from domain.kernel.errors import UnauthenticatedError
from domain.kernel.principal import Role
from server.claims import MAX_ROLES, MAX_TOKEN_LENGTH, principal_from_claims
from server.tokens import JwtKeys, TokenVerifier

SECRET = "unit-secret-" + "z" * 32


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"sub": "ana@org-a", "org_id": "org-a", "roles": ["user"], "iat": now, "exp": now + 600}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def verify(body: dict[str, Any]) -> Any:
    verifier = TokenVerifier(JwtKeys("HS256", SECRET, SECRET))
    return verifier.verify(jwt.encode(body, SECRET, algorithm="HS256"))


def test_well_formed_claims_give_the_principal_they_name() -> None:
    principal = verify(claims(roles=["admin", "user", "auditor"]))

    assert principal.organization_id == "org-a"
    assert principal.subject == "ana@org-a"
    assert principal.roles == {Role.ADMIN, Role.USER}  # an unknown role is ignored


def test_no_roles_claim_means_no_roles() -> None:
    assert verify(claims(roles=None)).roles == frozenset()


@pytest.mark.parametrize(
    "roles",
    [
        {"admin": False},  # an object's keys once read as roles
        {"admin": True},
        "admin",  # a string is not a list
        7,
        [["admin"]],  # nested lists once answered INTERNAL
        ["admin", 1],
        [None],
        True,
        ["x" * 65],
        ["user"] * (MAX_ROLES + 1),
    ],
    ids=repr,
)
def test_roles_that_are_not_a_short_list_of_strings_are_unauthenticated(roles: object) -> None:
    with pytest.raises(UnauthenticatedError, match="role"):
        verify(claims(roles=roles))


@pytest.mark.parametrize("claim", ["org_id", "sub"])
@pytest.mark.parametrize(
    "value",
    [123, 0, 1.5, True, ["org-a"], {"id": "org-a"}, "", "   ", "x" * 257, "org\x00a", "org\na"],
    ids=repr,
)
def test_identity_claims_must_be_non_blank_strings(claim: str, value: object) -> None:
    with pytest.raises(UnauthenticatedError):
        verify(claims(**{claim: value}))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("as_text", [True, False])
def test_time_claims_must_be_numbers(claim: str, as_text: bool) -> None:
    moment = int(time.time()) + (600 if claim == "exp" else -60)
    value: object = str(moment) if as_text else [moment]

    with pytest.raises(UnauthenticatedError):
        verify(claims(**{claim: value}))


def test_numeric_time_claims_are_accepted() -> None:
    now = time.time()
    assert verify(claims(exp=now + 600.5, iat=now, nbf=int(now) - 5)).subject == "ana@org-a"


@pytest.mark.parametrize("claim", ["org_id", "sub", "exp"])
def test_a_missing_required_claim_is_unauthenticated(claim: str) -> None:
    with pytest.raises(UnauthenticatedError):
        verify(claims(**{claim: None}))


def test_an_oversized_token_is_refused_before_it_is_decoded() -> None:
    verifier = TokenVerifier(JwtKeys("HS256", SECRET, SECRET))
    huge = jwt.encode(claims(padding="p" * MAX_TOKEN_LENGTH), SECRET, algorithm="HS256")

    with pytest.raises(UnauthenticatedError, match="longer than"):
        verifier.verify(huge)


def test_the_claim_reader_alone_rejects_an_object_of_roles() -> None:
    # The same rule without a token around it: what a future caller of the reader relies on.
    with pytest.raises(UnauthenticatedError):
        principal_from_claims(claims(roles={"admin": False}))

"""Page tokens as clients see them (server.page_tokens): opaque, tamper-proof, and bound to the
organization and the List RPC they were cut for."""

from __future__ import annotations

import base64

import pytest

from domain.kernel.errors import InvalidArgumentError
from domain.kernel.paging import encode_page_token
from server.page_tokens import MAX_PAGE_TOKEN_LENGTH, PageTokenSealer, derive_key

EMAIL = "victim@example.com"
PLAIN = encode_page_token(("email", EMAIL, "2026-01-01T00:00:00+00:00"), ("suppressions",))
HERE = {"organization_id": "org-a", "rpc": "ListSuppressions"}


@pytest.fixture
def sealer() -> PageTokenSealer:
    return PageTokenSealer(derive_key(b"s" * 32))


def rejected(sealer: PageTokenSealer, token: str, **bound: str) -> InvalidArgumentError:
    with pytest.raises(InvalidArgumentError) as caught:
        sealer.open(token, **(bound or HERE))
    assert [v.field for v in caught.value.violations] == ["page_token"]
    return caught.value


def test_a_sealed_token_opens_to_the_codec_token(sealer: PageTokenSealer) -> None:
    assert sealer.open(sealer.seal(PLAIN, **HERE), **HERE) == PLAIN


def test_no_token_stays_no_token(sealer: PageTokenSealer) -> None:
    assert sealer.seal("", **HERE) == ""
    assert sealer.open("", **HERE) == ""


def test_a_sealed_token_reveals_nothing_of_its_position(sealer: PageTokenSealer) -> None:
    token = sealer.seal(PLAIN, **HERE)
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))

    assert EMAIL.encode() not in raw
    assert b"example" not in raw
    assert PLAIN.encode()[:8] not in raw  # the codec's JSON does not show through
    assert sealer.seal(PLAIN, **HERE) != token  # a fresh nonce each time: nothing to compare


def test_every_altered_character_is_rejected(sealer: PageTokenSealer) -> None:
    token = sealer.seal(PLAIN, **HERE)
    for i in range(len(token)):
        swapped = "A" if token[i] != "A" else "B"
        altered = token[:i] + swapped + token[i + 1 :]
        with pytest.raises(InvalidArgumentError):
            sealer.open(altered, **HERE)


@pytest.mark.parametrize(
    "bound",
    [
        {"organization_id": "org-b", "rpc": "ListSuppressions"},  # another organization
        {"organization_id": "org-a", "rpc": "ListCampaigns"},  # another list
        {"organization_id": "org-aListSuppressions", "rpc": ""},  # no ambiguity in the binding
    ],
)
def test_a_token_opens_only_for_its_organization_and_rpc(
    sealer: PageTokenSealer, bound: dict[str, str]
) -> None:
    rejected(sealer, sealer.seal(PLAIN, **HERE), **bound)


def test_a_token_sealed_with_another_secret_is_rejected(sealer: PageTokenSealer) -> None:
    other = PageTokenSealer(derive_key(b"t" * 32))

    rejected(sealer, other.seal(PLAIN, **HERE))


@pytest.mark.parametrize(
    "token", ["not-a-token", "é", "AAAA", PLAIN, "A" * (MAX_PAGE_TOKEN_LENGTH + 1)], ids=len
)
def test_a_token_the_sealer_did_not_write_is_rejected(sealer: PageTokenSealer, token: str) -> None:
    rejected(sealer, token)

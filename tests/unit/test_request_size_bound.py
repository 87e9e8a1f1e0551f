"""check_request skips the walk of a message too small to be over any cap its type can meet
(server/request_limits.py, fits_any_cap): the bound must never hide a violation."""

from __future__ import annotations

import pytest
from campaign.v1 import campaign_service_pb2 as svc
from google.protobuf.descriptor import Descriptor

from domain.kernel.errors import InvalidArgumentError
from server.request_limits import ID, LIMITS, MAX_DEPTH, Cap, check_request, fits_any_cap


def _reachable(descriptor: Descriptor) -> list[Descriptor]:
    found, pending = {descriptor.full_name: descriptor}, [descriptor]
    while pending:
        for field in pending.pop().fields:
            if field.message_type is not None and field.message_type.full_name not in found:
                found[field.message_type.full_name] = field.message_type
                pending.append(field.message_type)
    return list(found.values())


@pytest.mark.parametrize(
    "request_type",
    [svc.GetCampaignRequest, svc.ListCampaignsRequest, svc.CreateCampaignRequest],
    ids=lambda t: t.DESCRIPTOR.name,
)
def test_the_bound_is_below_every_cap_the_type_can_meet(request_type: type) -> None:
    bound = fits_any_cap(request_type.DESCRIPTOR)

    assert bound <= 2 * MAX_DEPTH
    for message in _reachable(request_type.DESCRIPTOR):
        for field in message.fields:
            cap = LIMITS.get(field.full_name, Cap())
            assert all(bound <= n for n in (cap.items, cap.chars) if n is not None)


def test_a_small_request_over_no_cap_passes_and_an_id_over_its_cap_is_refused() -> None:
    check_request(svc.GetCampaignRequest(campaign_id="c" * 36))  # under the bound: not walked

    with pytest.raises(InvalidArgumentError):
        check_request(svc.GetCampaignRequest(campaign_id="c" * (ID + 1)))

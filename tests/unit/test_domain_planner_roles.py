"""The use cases themselves hold estimates and previews to the admin, service and system roles
(the server's role table checks first; this holds for any other caller of the domain)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.execution.estimate import AudienceEstimator
from domain.execution.service import ExecutionService
from domain.kernel.errors import PermissionDeniedError
from domain.kernel.principal import Principal, Role

# The role check comes before any port is touched, so none is needed here.
UNUSED: Any = None


def user() -> Principal:
    return Principal("org-1", "bob", frozenset({Role.USER}))


async def test_a_user_may_not_estimate_an_audience() -> None:
    estimator = AudienceEstimator(audience=UNUSED, campaigns=UNUSED, clock=UNUSED)

    with pytest.raises(PermissionDeniedError, match="admin, service or system"):
        await estimator.estimate_audience(user(), campaign_id="c-1")


async def test_a_user_may_not_preview_a_message() -> None:
    service = ExecutionService(UNUSED, UNUSED, UNUSED, UNUSED, UNUSED, suppressions=UNUSED)

    with pytest.raises(PermissionDeniedError, match="admin, service or system"):
        await service.preview_message(user(), "c-1", sample_user_id="u-1")

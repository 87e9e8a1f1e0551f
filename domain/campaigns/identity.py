"""Identity of a campaign's children: fresh ids on create and clone, stable ids across edits,
and a fingerprint of a definition for idempotent creates."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, replace

from domain.campaigns.model import CampaignSpec
from domain.kernel.ports import IdGenerator


def assign_child_ids(
    spec: CampaignSpec, ids: IdGenerator, current: CampaignSpec | None = None
) -> CampaignSpec:
    """Keep an id only if it names an existing child of `current`; give everything else a new one.

    Clients cannot choose ids (they are output only), and an edit that keeps a variant keeps its
    id, so messages and metrics already attributed to it stay attributed.
    """
    known_audiences = _known(a.audience_id for a in (current.audiences if current else ()))
    known_variants = _known(v.variant_id for v in (current.variants if current else ()))
    known_triggers = _known(t.trigger_id for t in (current.triggers if current else ()))
    return replace(
        spec,
        audiences=tuple(
            a if a.audience_id in known_audiences else replace(a, audience_id=ids.new_id())
            for a in spec.audiences
        ),
        variants=tuple(
            v if v.variant_id in known_variants else replace(v, variant_id=ids.new_id())
            for v in spec.variants
        ),
        triggers=tuple(
            t if t.trigger_id in known_triggers else replace(t, trigger_id=ids.new_id())
            for t in spec.triggers
        ),
    )


def _known(values: Iterable[str]) -> set[str]:
    return {value for value in values if value}


def fingerprint(spec: CampaignSpec) -> str:
    """Digest of what the client asked for (ids excluded: the server assigns them)."""
    body = asdict(
        replace(
            spec,
            audiences=tuple(replace(a, audience_id="") for a in spec.audiences),
            variants=tuple(replace(v, variant_id="") for v in spec.variants),
            triggers=tuple(replace(t, trigger_id="") for t in spec.triggers),
            metadata=tuple(sorted(spec.metadata)),
        )
    )
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()

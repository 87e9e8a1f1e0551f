"""Suppressed addresses stored folded (domain.audience.model.address_key: ASCII letters lowercased).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# domain.audience.model.address_key as of this revision, copied: a migration must not change meaning
# when the domain does later.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def upgrade() -> None:
    """Each entry with an upper-case ASCII letter is folded; when its folded twin exists
    already (same organization and channel), the twin is kept and it is dropped."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT organization_id, target, channel FROM suppressions"
            " WHERE kind = 'address' AND target <> lower(target)"
        )
        if bind.dialect.name == "postgresql"
        else sa.text(
            "SELECT organization_id, target, channel FROM suppressions"
            " WHERE kind = 'address' AND target GLOB '*[A-Z]*'"
        )
    ).all()
    for organization_id, target, channel in rows:
        key = {"org": organization_id, "target": target, "channel": channel}
        folded = target.translate(_ASCII_LOWER)
        if folded == target:
            continue  # upper-case letters beyond ASCII only: stored as they are
        twin = bind.execute(
            sa.text(
                "SELECT 1 FROM suppressions WHERE organization_id = :org AND kind = 'address'"
                " AND target = :folded AND channel = :channel"
            ),
            {**key, "folded": folded},
        ).first()
        if twin is None:
            bind.execute(
                sa.text(
                    "UPDATE suppressions SET target = :folded WHERE organization_id = :org"
                    " AND kind = 'address' AND target = :target AND channel = :channel"
                ),
                {**key, "folded": folded},
            )
        else:
            bind.execute(
                sa.text(
                    "DELETE FROM suppressions WHERE organization_id = :org AND kind = 'address'"
                    " AND target = :target AND channel = :channel"
                ),
                key,
            )


def downgrade() -> None:
    pass  # folded targets are valid entries for an older release too

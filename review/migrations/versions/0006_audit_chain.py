"""The audit trail is hash-chained: each row keeps the hash of the row before it and its own
(review/audit_chain.py). The rows already there are chained here, in id order, so that the
whole trail verifies; that vouches for them only as they stand at upgrade time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from review.audit_chain import GENESIS, chain_hash

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The audit columns as of this revision (not review.tables, which later revisions change).
_AUDIT = sa.table(
    "audit_events",
    sa.column("id", sa.BigInteger()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("role", sa.String()),
    sa.column("action", sa.String()),
    sa.column("chart_id", sa.Integer()),
    sa.column("proposal_id", sa.Integer()),
    sa.column("before", sa.JSON()),
    sa.column("after", sa.JSON()),
    sa.column("reason", sa.String()),
    sa.column("request_id", sa.String()),
    sa.column("model", sa.String()),
    sa.column("prompt_version", sa.String()),
    sa.column("kb_release", sa.String()),
    sa.column("fiscal_year", sa.Integer()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)
_PAGE = 1000

# 0001's triggers, verbatim: this revision lifts the UPDATE refusal only while it chains.
_PG_TRIGGER = (
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse()"
)
_SQLITE_UPDATE_TRIGGER = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
)


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("row_hash", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # One transaction (PostgreSQL DDL is transactional): a failure restores the trigger,
        # and ALTER TABLE's lock keeps appenders out until the chain is written.
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        _chain_existing_rows()
        op.execute(_PG_TRIGGER)
        return
    # SQLite commits the DROP TRIGGER at once, so the trigger comes back whatever happens.
    op.execute("DROP TRIGGER audit_events_no_update")
    try:
        _chain_existing_rows()
    finally:
        op.execute(_SQLITE_UPDATE_TRIGGER)


def _chain_existing_rows() -> None:
    connection = op.get_bind()
    fields = [c for c in _AUDIT.c if c.name not in ("prev_hash", "row_hash")]
    update = (
        sa.update(_AUDIT)
        .where(_AUDIT.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("prev"), row_hash=sa.bindparam("hash"))
    )
    prev, last_id = GENESIS, 0
    while True:
        page = connection.execute(
            sa.select(*fields).where(_AUDIT.c.id > last_id).order_by(_AUDIT.c.id).limit(_PAGE)
        ).all()
        if not page:
            return
        links = []
        for row in page:
            row_hash = chain_hash(prev, row._mapping)
            links.append({"row_id": row.id, "prev": prev, "hash": row_hash})
            prev, last_id = row_hash, row.id
        connection.execute(update, links)


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (as 0002): a batch rebuild of audit_events on SQLite
    # would drop the triggers that keep it append-only.
    op.drop_column("audit_events", "row_hash")
    op.drop_column("audit_events", "prev_hash")

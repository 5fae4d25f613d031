"""Committed code sets are immutable in the database too: UPDATE and DELETE on code_sets are
refused by triggers (as on audit_events), so no one can change a claim under its audit trail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 20:40:00.000000
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION code_sets_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'code_sets is immutable: a change is a new version'; END $$"
        )
        op.execute(
            "CREATE TRIGGER code_sets_immutable BEFORE UPDATE OR DELETE ON code_sets "
            "FOR EACH ROW EXECUTE FUNCTION code_sets_refuse()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER code_sets_no_{verb.lower()} BEFORE {verb} ON code_sets "
            "BEGIN SELECT RAISE(ABORT, 'code_sets is immutable: a change is a new version'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER code_sets_immutable ON code_sets")
        op.execute("DROP FUNCTION code_sets_refuse()")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER code_sets_no_{verb}")

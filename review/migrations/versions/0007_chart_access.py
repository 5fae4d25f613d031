"""Chart access: who reads a chart (chart_reads, append-only like audit_events) and who a
chart is assigned to (charts.assigned_to, nullable: existing charts stay unassigned, which
every coder may work).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_REFUSAL = "chart_reads is append-only"


def upgrade() -> None:
    op.create_table(
        "chart_reads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("chart_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_chart_reads_chart_id"), "chart_reads", ["chart_id"], unique=False)
    _append_only()
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot ALTER a constraint in, but takes a REFERENCES clause on a new
        # nullable column; this keeps the table (no batch rebuild of charts).
        op.execute("ALTER TABLE charts ADD COLUMN assigned_to INTEGER REFERENCES users (id)")
    else:
        op.add_column(
            "charts",
            sa.Column("assigned_to", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        )


def _append_only() -> None:
    """A read, once recorded, can be neither changed nor removed, by any code path."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION chart_reads_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER chart_reads_append_only BEFORE UPDATE OR DELETE ON chart_reads "
            "FOR EACH ROW EXECUTE FUNCTION chart_reads_refuse()"
        )
        # Row triggers do not see TRUNCATE, which would empty the log in one statement.
        op.execute(
            "CREATE TRIGGER chart_reads_no_truncate BEFORE TRUNCATE ON chart_reads "
            "FOR EACH STATEMENT EXECUTE FUNCTION chart_reads_refuse()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER chart_reads_no_{verb.lower()} BEFORE {verb} ON chart_reads "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite refuses DROP COLUMN on a column with a foreign key: rebuild the table
        # (charts has no triggers a rebuild would lose).
        with op.batch_alter_table("charts", recreate="always") as batch:
            batch.drop_column("assigned_to")
    else:
        op.drop_column("charts", "assigned_to")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER chart_reads_no_truncate ON chart_reads")
        op.execute("DROP TRIGGER chart_reads_append_only ON chart_reads")
        op.execute("DROP FUNCTION chart_reads_refuse()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER chart_reads_no_{verb}")
    op.drop_index(op.f("ix_chart_reads_chart_id"), table_name="chart_reads")
    op.drop_table("chart_reads")

"""Fiscal years: a chart's admission and discharge dates; the fiscal year (code set) each
coding run, proposal, committed code set and audit row was made in; a run's warnings.

Every new column is nullable: rows written before fiscal years were recorded were coded in
FY2026, the one year the knowledge base then held, which is what readers assume for NULL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 04:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_YEAR_TABLES = ("coding_runs", "proposals", "code_sets", "audit_events")


def upgrade() -> None:
    op.add_column("charts", sa.Column("admission_date", sa.Date(), nullable=True))
    op.add_column("charts", sa.Column("discharge_date", sa.Date(), nullable=True))
    for table in _YEAR_TABLES:
        op.add_column(table, sa.Column("fiscal_year", sa.Integer(), nullable=True))
    op.add_column("coding_runs", sa.Column("warnings", sa.JSON(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch rebuild of
    # audit_events would drop the triggers that keep it append-only.
    op.drop_column("coding_runs", "warnings")
    for table in reversed(_YEAR_TABLES):
        op.drop_column(table, "fiscal_year")
    op.drop_column("charts", "discharge_date")
    op.drop_column("charts", "admission_date")

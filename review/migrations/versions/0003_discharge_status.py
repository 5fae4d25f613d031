"""A chart's discharge status (the CMS patient discharge status code), read by MS-DRG
grouping. Nullable: charts stored before it was recorded are grouped as 01 (home), with a
note saying so.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("charts", sa.Column("discharge_status", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("charts", "discharge_status")

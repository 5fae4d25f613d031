"""Alembic environment: the URL comes from the Config that review.db builds."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from review.tables import Base

url = context.config.get_main_option("sqlalchemy.url")
assert url, "review.db.alembic_config sets sqlalchemy.url"

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()

"""Alembic environment: runs migrations on the connection glare passes in."""

from alembic import context

from artifacts.db import migrate

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    raise RuntimeError("Run migrations through `glare db upgrade`.")

context.configure(connection=connection,
                  target_metadata=migrate.full_metadata(),
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

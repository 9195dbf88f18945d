"""Persistence: one SQLAlchemy engine per server, migrations applied at start.

Every feature that stores rows declares its tables on `store.database.Base` and ships its own
Alembic branch under `store/migrations/versions/` (a root revision with its own branch label).
"""

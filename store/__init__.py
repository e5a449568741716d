"""PostgreSQL through asyncpg: migrations, repositories, the outbox.

Repositories take a connection (the service layer owns the transaction) and
return domain objects. No ORM: SQL lives in the migration files and here.
"""

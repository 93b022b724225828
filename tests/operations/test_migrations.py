"""The migrations build the schema the models describe (on the database under test)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from bonus_service.models import Base

# Kept in the database while the previous release may still run (docs/operations.md: a column a
# running release uses is dropped one release later); the models no longer have them.
KEPT_FOR_THE_PREVIOUS_RELEASE = {("idempotency_keys", "lease"), ("idempotency_keys", "lease_until")}


def test_the_migrated_schema_is_the_models_schema(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    kept = {
        (d[2], d[3].name) for d in differences if d[0] == "remove_column"
    } & KEPT_FOR_THE_PREVIOUS_RELEASE
    unexpected = [
        d for d in differences if not (d[0] == "remove_column" and (d[2], d[3].name) in kept)
    ]
    assert unexpected == []

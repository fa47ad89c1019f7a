"""Drop the `…_like` indexes of Seatplan's tables on PostgreSQL (see seatplan/db/postgresql/base.py)."""

from django.db import migrations

APPS = ("accounts", "clocks", "catalog", "subscriptions", "invoices", "payments", "events", "idempotency", "leases")


def drop_like_indexes(apps, schema_editor) -> None:  # noqa: ANN001
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.indexname LIKE %s AND split_part(i.tablename, '_', 1) = ANY(%s) "
            "AND i.indexdef LIKE %s",
            ["%\\_like", list(APPS), "%varchar_pattern_ops%"],
        )
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_signin_failures"),
        ("clocks", "0001_initial"),
        ("catalog", "0002_initial"),
        ("subscriptions", "0002_renewal_retry_reminder"),
        ("invoices", "0001_initial"),
        ("payments", "0001_initial"),
        ("events", "0003_outbox_email_pending"),
        ("idempotency", "0001_initial"),
        ("leases", "0001_initial"),
    ]

    operations = [migrations.RunPython(drop_like_indexes, migrations.RunPython.noop, elidable=True)]

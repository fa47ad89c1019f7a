"""The batch helpers the billing job stands on: `__any`, `copy_rows`, and the PostgreSQL backend's indexes."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from seatplan.events.models import AuditEntry
from seatplan.sqlrows import copy_rows
from seatplan.subscriptions.models import Subscription
from tests.lifecycle.seeding import seed_due_subscriptions

NOW = datetime(2027, 3, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_any_matches_what_in_matches():
    ids = seed_due_subscriptions(5, due_at=NOW)
    some = [ids[0], ids[3], ids[3], "sub_nosuch"]
    assert set(Subscription.objects.filter(pk__any=some).values_list("pk", flat=True)) == {ids[0], ids[3]}
    accounts = list(Subscription.objects.filter(pk__in=ids[:2]).values_list("account_id", flat=True))
    assert set(Subscription.objects.filter(account_id__any=accounts).values_list("pk", flat=True)) == set(ids[:2])
    assert not Subscription.objects.filter(pk__any=[]).exists()
    assert Subscription.objects.exclude(pk__any=ids[:2]).count() == 3


@pytest.mark.django_db
def test_copy_rows_writes_tuples_as_the_orm_reads_them_back():
    account_id = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0]).account_id
    columns = ["account_id", "actor", "action", "object_type", "object_id", "before", "after", "created_at"]
    copy_rows(AuditEntry, columns, [(account_id, "system", "test.copied", "Subscription", f"sub_{i}",
                                     None, {"quantity": i}, NOW) for i in range(30)])
    rows = list(AuditEntry.objects.filter(action="test.copied").order_by("object_id")
                .values_list("object_id", "before", "after", "created_at"))
    assert len(rows) == 30
    assert rows[0] == ("sub_0", None, {"quantity": 0}, NOW)


@pytest.mark.django_db
def test_copy_rows_refuses_a_column_list_that_is_not_the_table_and_writes_nothing():
    with pytest.raises(ValueError, match="copy_rows"):
        copy_rows(AuditEntry, ["account_id", "actor"], [("acc_x", "system")])
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the `_like` indexes are PostgreSQL's")
def test_no_like_indexes_on_seatplan_tables():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() "
                       "AND indexdef LIKE %s", ["%varchar_pattern_ops%"])
        found = [row for row in cursor.fetchall() if not row[0].startswith(("auth_", "django_"))]
    assert found == []

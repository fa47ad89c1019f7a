"""The helpers the hot paths and the billing job stand on: `Columns`, `__any`, `copy_rows`, and the PostgreSQL
backend's indexes."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from seatplan.accounts.models import User
from seatplan.events.models import AuditEntry
from seatplan.invoices.models import Invoice, InvoiceLine
from seatplan.payments.models import PaymentAttempt
from seatplan.sqlrows import Columns, copy_rows, insert, new
from seatplan.subscriptions.models import Subscription
from tests.lifecycle.seeding import seed_due_subscriptions

NOW = datetime(2027, 3, 1, tzinfo=UTC)


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


@pytest.mark.django_db
def test_columns_build_gives_the_instance_the_orm_reads():
    sub = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    user = User.objects.create_user(email="columns@example.com", password="a-long-password")
    for model, pk in ((Subscription, sub.pk), (User, user.pk)):
        columns = Columns(model, "t")
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT {columns.sql} FROM "{model._meta.db_table}" t WHERE t.id = %s', [pk])
            row = cursor.fetchone()
        built, read = columns.build(("before", *row), 1), model.objects.get(pk=pk)
        assert type(built) is model and _fields(built) == _fields(read)
        assert (built._state.adding, built._state.db) == (False, "default")
        assert columns.build_or_none((None,) * columns.width) is None
    # A saved instance behaves as one the ORM read: relations load, and a save updates the row.
    built.refresh_from_db()
    assert built.email == "columns@example.com"
    sub_built = Columns(Subscription, "s").build(
        row=tuple(getattr(sub, f.attname) for f in Subscription._meta.concrete_fields)
    )
    assert sub_built.account.pk == sub.account_id
    sub_built.quantity += 1
    sub_built.save(update_fields=["quantity"])
    assert Subscription.objects.get(pk=sub.pk).quantity == sub.quantity + 1


@pytest.mark.django_db
def test_new_makes_the_instance_model_init_makes():
    sub = Subscription.objects.select_related("account").get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    values = {"account": sub.account, "amount": 1490, "currency": "usd", "gateway_key": "k1", "created_at": NOW}
    made, usual = new(PaymentAttempt, **values), PaymentAttempt(**values)
    # Every field as Model.__init__ sets it (defaults included); the id is a fresh one of the same kind.
    assert {**_fields(made), "id": None} == {**_fields(usual), "id": None}
    assert made.id.startswith("pay_") and made.id != usual.id
    assert made.account is sub.account and made.account_id == sub.account_id and made.quote is None
    assert (made._state.adding, made._state.db) == (True, None)
    # By attname, as Model.__init__ takes them; a related instance by field name is cached.
    line = new(InvoiceLine, invoice_id="inv_x", position=0, description="d", quantity=1, amount=5)
    assert line.invoice_id == "inv_x" and line.kind == InvoiceLine(invoice_id="inv_x").kind
    invoice = new(Invoice, account=sub.account, subscription_id=sub.pk, currency="usd", issued_at=NOW)
    assert new(InvoiceLine, invoice=invoice).invoice is invoice
    # What Model.__init__ refuses, new refuses.
    with pytest.raises(TypeError, match="unexpected keyword arguments: colour"):
        new(PaymentAttempt, colour="red")
    with pytest.raises(ValueError, match="must be a"):
        new(PaymentAttempt, account=sub)
    # It saves as any new instance does.
    insert(made)
    assert _fields(PaymentAttempt.objects.get(pk=made.pk)) == _fields(made)


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
    copy_rows(
        AuditEntry,
        columns,
        [
            (account_id, "system", "test.copied", "Subscription", f"sub_{i}", None, {"quantity": i}, NOW)
            for i in range(30)
        ],
    )
    rows = list(
        AuditEntry.objects.filter(action="test.copied")
        .order_by("object_id")
        .values_list("object_id", "before", "after", "created_at")
    )
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
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexdef LIKE %s",
            ["%varchar_pattern_ops%"],
        )
        found = [row for row in cursor.fetchall() if not row[0].startswith(("auth_", "django_"))]
    assert found == []


@pytest.mark.django_db
def test_together_sends_independent_writes_as_one_statement_in_the_order_written(monkeypatch):
    from django.db import transaction

    from seatplan import sqlrows
    from seatplan.sqlrows import fetch_one, insert, together, update

    sub = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    sent = []
    real = sqlrows._run_kept
    monkeypatch.setattr(
        sqlrows, "_run_kept", lambda db, sql, params, want: sent.append(sql) or real(db, sql, params, want)
    )
    entry = AuditEntry(
        account_id=sub.account_id,
        actor="system",
        action="test.together",
        object_type="x",
        object_id="1",
        created_at=NOW,
    )
    with transaction.atomic(), together():
        sub.quantity = 7
        update(sub, ["quantity"])
        insert(entry, read_keys=False)
        # A read sends what is held first, so it sees it (and an ORM read too).
        assert fetch_one("SELECT quantity FROM subscriptions_subscription WHERE id = %s", [sub.pk]) == (7,)
        sub.quantity = 8
        update(sub, ["quantity"])
        sub.quantity = 9
        update(sub, ["quantity"])  # the same table again: the first update goes before it
        assert Subscription.objects.get(pk=sub.pk).quantity == 9
        entry.action = "test.after"
        insert(entry, read_keys=False)
        sub.quantity = 10
        update(sub, ["quantity"])
    assert Subscription.objects.get(pk=sub.pk).quantity == 10
    assert sorted(AuditEntry.objects.filter(object_type="x").values_list("action", flat=True)) == [
        "test.after",
        "test.together",
    ]
    if connection.vendor == "postgresql":
        # update + insert in one, the read, update, update, insert + update in one
        assert [sql.startswith("WITH") for sql in sent] == [True, False, False, False, True]
    else:
        assert sent == []  # SQLite: Django's cursor, every write at once


@pytest.mark.django_db
def test_a_write_that_returns_rows_goes_with_the_writes_held_before_it(monkeypatch):
    from django.db import transaction

    from seatplan import sqlrows
    from seatplan.invoices.models import InvoiceCounter
    from seatplan.sqlrows import fetch_one, together, update

    sub = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    InvoiceCounter.objects.create(series="TEST-W", last_number=41)
    sent = []
    real = sqlrows._run_kept
    monkeypatch.setattr(
        sqlrows, "_run_kept", lambda db, sql, params, want: sent.append(sql) or real(db, sql, params, want)
    )
    take = "UPDATE invoices_invoicecounter SET last_number = last_number + 1 WHERE series = %s RETURNING last_number"
    bump = "UPDATE subscriptions_subscription SET quantity = quantity + 1 WHERE id = %s RETURNING quantity"
    with transaction.atomic(), together():
        sub.quantity = 7
        update(sub, ["quantity"])
        assert fetch_one(take, ["TEST-W"], writes="invoices_invoicecounter") == (42,)
        sub.quantity = 8
        update(sub, ["quantity"])
        # The same table as a held write: that write goes first, so this one sees it.
        assert fetch_one(bump, [sub.pk], writes="subscriptions_subscription") == (9,)
    assert Subscription.objects.get(pk=sub.pk).quantity == 9
    assert InvoiceCounter.objects.get(series="TEST-W").last_number == 42
    if connection.vendor == "postgresql":
        # update + take in one; the update alone, then the bump
        assert [sql.split(" ", 1)[0] for sql in sent] == ["WITH", "UPDATE", "UPDATE"]
        assert "RETURNING last_number" in sent[0] and "subscriptions_subscription" in sent[0]


@pytest.mark.django_db
def test_together_sends_nothing_when_the_block_fails():
    from django.db import transaction

    from seatplan.sqlrows import together, update

    sub = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    with pytest.raises(RuntimeError), transaction.atomic(), together():
        sub.quantity = 77
        update(sub, ["quantity"])
        raise RuntimeError("stop")
    assert Subscription.objects.get(pk=sub.pk).quantity != 77


@pytest.mark.django_db
def test_copy_rows_in_a_together_block_comes_after_the_writes_held_before_it():
    from django.db import transaction

    from seatplan.sqlrows import insert, together

    account_id = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0]).account_id
    with transaction.atomic(), together():
        insert(
            AuditEntry(
                account_id=account_id,
                actor="system",
                action="test.first",
                object_type="x",
                object_id="1",
                created_at=NOW,
            ),
            read_keys=False,
        )
        copy_rows(
            AuditEntry,
            ["account_id", "actor", "action", "object_type", "object_id", "before", "after", "created_at"],
            [(account_id, "system", "test.second", "x", "2", None, None, NOW)],
        )
    assert list(AuditEntry.objects.filter(object_type="x").order_by("pk").values_list("action", flat=True)) == [
        "test.first",
        "test.second",
    ]


@pytest.mark.django_db(transaction=True)
def test_statements_survive_a_closed_connection_and_report_errors_as_django_does():
    from django.db import IntegrityError, transaction

    from seatplan.sqlrows import execute, fetch_one

    assert fetch_one("SELECT %s", [1]) == (1,)
    connection.close()  # as CONN_MAX_AGE does between requests: the next statement connects again
    assert fetch_one("SELECT %s", [2]) == (2,)
    add = "INSERT INTO invoices_invoicecounter (series, last_number) VALUES (%s, %s)"
    with pytest.raises(IntegrityError), transaction.atomic():  # Django's exception, and the block rolls back
        execute(add, ["TEST-A", 0])
        execute(add, ["TEST-A", 1])
    assert fetch_one("SELECT COUNT(*) FROM invoices_invoicecounter WHERE series = %s", ["TEST-A"]) == (0,)


@pytest.mark.django_db
def test_timestamps_read_by_statements_are_the_orms_in_utc():
    # On PostgreSQL the statements' cursor loads timestamptz with psycopg's own loader (sqlrows._kept_cursor).
    from seatplan.sqlrows import fetch_one

    when = [datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC), NOW]
    sub = Subscription.objects.get(pk=seed_due_subscriptions(1, due_at=NOW)[0])
    for value in when:
        Subscription.objects.filter(pk=sub.pk).update(created_at=value)
        columns = Columns(Subscription, "s")
        row = fetch_one(f"SELECT {columns.sql} FROM subscriptions_subscription s WHERE s.id = %s", [sub.pk])
        read = columns.build(row).created_at
        orm = Subscription.objects.get(pk=sub.pk).created_at
        assert read == orm == value
        assert read.tzinfo is UTC and orm.tzinfo is UTC


@pytest.mark.django_db
def test_statements_take_placeholders_and_a_literal_percent_as_djangos_cursor_does():
    from seatplan.sqlrows import _number, _numbered, fetch_one

    assert _numbered("SELECT %s, '%%', %s") == _number("SELECT %s, '%%', %s") == "SELECT $1, '%', $2"
    assert fetch_one("SELECT %s || '%%' || %s", ["5", "0"]) == ("5%0",)
    # Long statements (psycopg converts those on every call) too: 60 parameters, over 4 kB of text.
    values = [str(i) for i in range(60)]
    padding = " " * 4096
    row = fetch_one("SELECT " + ", ".join(["%s"] * 60) + padding, values)
    assert list(row) == values
    # Longer than the cache takes (a batch's INSERT): converted on each call, and still right.
    huge = " " * 40_000
    assert fetch_one("SELECT %s || '%%'" + huge, ["9"]) == ("9%",)

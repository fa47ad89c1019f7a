"""Several models from one hand-written SELECT (a join), converted as the ORM would convert them.

The hot paths (API-key authentication, checkout) read two to four related rows at once, some of them
locked. Written with the ORM these are several queries, or one whose compilation costs more than the
database spends running it; here the SQL is plain text and each model's columns are listed from its
metadata, so the statement stays readable and works on SQLite and PostgreSQL alike.

    USER = Columns(User, "u")
    sql = f"SELECT {KEY.sql}, {USER.sql} FROM accounts_apikey k JOIN accounts_user u ON ..."
    row = fetch_one(sql, params)
    key, user = KEY.build(row, 0), USER.build(row, KEY.width)

`build` is for a row that is there (an inner join's); `build_or_none` for an outer join's, None when absent.
`new(Model, **values)` makes a new instance as `Model(**values)` does, for the rows a hot path writes.
"""

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import count
from typing import Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, CharField, Field, ForeignKey, IntegerField, JSONField, Model, TextField
from django.db.models.base import ModelState
from django.db.models.expressions import Col
from django.db.models.fields.related import ForeignObject
from django.db.models.fields.related_lookups import RelatedIn
from django.db.models.lookups import In
from django.db.models.options import Options
from django.db.models.signals import post_init, pre_init
from psycopg import RawCursor
from psycopg.types.datetime import TimestamptzLoader

M = TypeVar("M", bound=Model)


class Columns(Generic[M]):
    """The concrete columns of `model` under a table alias, and building an instance from them."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.sql = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self.width = len(self.fields)
        self._pk_index = self.attnames.index(model._meta.pk.attname)
        self._alias = alias
        # The default database's converters (one engine for the process's life): found on the first
        # build, so that building an instance without converters needs no look-up of the connection.
        self._converters: list | None = None
        # Instances are made as Model.__init__ makes them, without its generic argument handling: the
        # values go straight into the instance's __dict__. Only for a model that adds nothing to __init__
        # and has no init signals (checked once, on the first build); any other is built by from_db.
        self._direct: bool | None = None

    def _converters_for(self, db: BaseDatabaseWrapper) -> list:
        found = []
        for i, field in enumerate(self.fields):
            col = Col(self._alias, field)
            funcs = db.ops.get_db_converters(col) + field.get_db_converters(db)
            if funcs:
                found.append((i, funcs, col))
        return found

    def build(self, row: tuple, start: int = 0) -> M:
        """The instance from row[start:start + width], which must be there (an inner join's columns)."""
        found = self.build_or_none(row, start)
        if found is None:
            raise ValueError(f"no {self.model.__name__} in the row at column {start}")
        return found

    def build_or_none(self, row: tuple, start: int = 0) -> M | None:
        """The instance from row[start:start + width]; None when its primary key is NULL (an outer join's)."""
        values = list(row[start : start + self.width])
        if values[self._pk_index] is None:
            return None
        converters = self._converters
        if converters is None:
            converters = self._converters = self._converters_for(connections[DEFAULT_DB_ALIAS])
        db = None
        if converters:
            db = connections[DEFAULT_DB_ALIAS]
            for i, funcs, col in converters:
                for func in funcs:
                    values[i] = func(values[i], col, db)
        if self._direct is None:
            self._direct = _plain_init(self.model)
        if not self._direct:
            return self.model.from_db(DEFAULT_DB_ALIAS, self.attnames, values)
        obj = self.model.__new__(self.model)
        state = obj._state = ModelState()
        state.adding, state.db = False, DEFAULT_DB_ALIAS
        obj.__dict__.update(zip(self.attnames, values, strict=True))
        return obj


def _plain_init(model: type[Model]) -> bool:
    """Whether an instance of `model` can be made without Model.__init__ and from_db: the model adds
    nothing to either and has no init signals."""
    own = [vars(cls) for cls in model.__mro__ if issubclass(cls, Model) and cls is not Model]
    return (
        not any("__init__" in names or "from_db" in names for names in own)
        and not pre_init.has_listeners(model)
        and not post_init.has_listeners(model)
    )


@lru_cache(maxsize=128)
def _blueprint(model: type[Model]) -> list[tuple[Field, ForeignKey | None]] | None:
    """Per concrete field: the field, and the field as a ForeignKey when it is a many-to-one key; None for
    a model `new` must leave to Model.__init__."""
    if not _plain_init(model):
        return None
    return [(f, f if isinstance(f, ForeignKey) and not f.one_to_one else None) for f in model._meta.concrete_fields]


def new(model: type[M], **values: object) -> M:
    """`model(**values)` for a new instance, with a quarter of Model.__init__'s Python.

    Model.__init__ takes each field's value through generic keyword handling, descriptors and two signals
    (some 30 µs for a quote); a checkout makes about ten instances. Here each concrete field gets its
    value, or its default, straight into the instance, as Model.__init__ would set it: a related instance
    given by field name sets the key and is cached, as the descriptor does. Fields only, by name or
    attname; anything else is a TypeError. A model with its own __init__ or init signals gets Model.__init__.
    """
    blueprint = _blueprint(model)
    if blueprint is None:
        return model(**values)
    obj = model.__new__(model)
    obj._state = ModelState()
    attrs = obj.__dict__
    for field, related in blueprint:
        name, attname = field.name, field.attname
        if related is not None and name in values:
            target, remote = values.pop(name), related.remote_field.model
            if target is not None and not isinstance(target, remote):
                raise ValueError(f'{model.__name__}.{name} must be a "{remote.__name__}" instance.')
            attrs[attname] = None if target is None else getattr(target, related.target_field.attname)
            related.set_cached_value(obj, target)
        elif attname in values:
            attrs[attname] = values.pop(attname)
        elif name in values:  # a one-to-one key, by the descriptor
            setattr(obj, name, values.pop(name))
        else:
            attrs[attname] = field.get_default()
    if values:
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(values)}")
    return obj


def for_update(*aliases: str) -> str:
    """The locking clause for this database: rows of `aliases` only; nothing on SQLite (it locks at BEGIN)."""
    features = connections[DEFAULT_DB_ALIAS].features
    if not features.has_select_for_update:
        return ""
    if aliases and features.has_select_for_update_of:
        return " FOR UPDATE OF " + ", ".join(aliases)
    return " FOR UPDATE"


def fetch_one(sql: str, params: list, *, writes: str | None = None) -> tuple | None:
    """The statement's first row. `writes`: the table a statement that changes rows and returns some
    (`UPDATE … RETURNING`) writes; in a `together` block it goes with the writes held before it, as
    their statement's main part, instead of after them."""
    return _run(sql, params, _ONE, writes)


def fetch_all(sql: str, params: list) -> list[tuple]:
    return _run(sql, params, _ALL)


def execute(sql: str, params: list) -> int:
    """Run one statement; returns the rows it touched."""
    return _run(sql, params, _COUNT)


def write(sql: str, params: list, *, table: str) -> None:
    """Run a plain write of `table` (an UPDATE or INSERT) whose result nobody reads: in a `together`
    block it is held and sent with the others."""
    _run(sql, params, _QUEUE, table)


_COUNT, _ONE, _ALL, _QUEUE = 0, 1, 2, 3


def _run(sql: str, params: list, want: int, table: str | None = None, db: BaseDatabaseWrapper | None = None):  # noqa: ANN202
    """Run a statement and read its result (`want`); `_QUEUE`: a write of `table` whose result nobody
    reads, which a `together` block may hold back and send with others; a read with a `table` is a write
    that returns rows, which goes with the held writes (see `fetch_one`).

    On PostgreSQL, through one psycopg cursor kept for the connection's life, with Django's checks and
    error translation but without its cursor wrapper: the wrapper roughly doubles the client's cost of a
    short statement (about 60 µs of 125), and a checkout runs thirteen of them. Django's own cursor
    serves SQLite (its placeholders), and any connection whose queries are logged (DEBUG, tests that
    count queries) or wrapped (`execute_wrapper`), so those see every statement.
    """
    if db is None:
        db = connections[DEFAULT_DB_ALIAS]
    held: _Held | None = db.__dict__.get("_sqlrows_held")
    if held is not None:
        if want == _QUEUE and table is not None:
            held.add(db, table, sql, params)
            return None
        if table is not None and table not in held.tables and held.statements:
            return _run_kept(db, *held.take(sql, params), want)
        held.send(db)
    wrapped = [w for w in db.execute_wrappers if held is None or w != held.flush_first]  # others' wrappers
    if db.vendor != "postgresql" or db.queries_logged or wrapped:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return _result(cursor, want)
    return _run_kept(db, sql, params, want)


def _run_kept(db: BaseDatabaseWrapper, sql: str, params: list, want: int):  # noqa: ANN202
    db.ensure_connection()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor = _kept_cursor(db)
        cursor.execute(_numbered(sql), params)
        return _result(cursor, want)


def _number(sql: str) -> str:
    """The statement with PostgreSQL's own placeholders: the n-th %s becomes $n, and %% becomes %."""
    numbers = count(1)
    return re.sub(r"%[s%]", lambda m: f"${next(numbers)}" if m.group() == "%s" else "%", sql)


_number_kept = lru_cache(maxsize=256)(_number)


def _numbered(sql: str) -> str:
    """`_number(sql)`, kept for statements up to 32 kB.

    psycopg makes the same conversion on every call of a statement longer than 4 kB or with more than 50
    parameters (it caches only smaller ones), and the checkout's are longer: converted once per text here,
    the kept cursor (a RawCursor) sends the text as it is. A longer one (a batch's many-row INSERT) is
    converted on each call, so that texts used once do not fill the cache."""
    return _number_kept(sql) if len(sql) <= 32_768 else _number(sql)


def _result(cursor, want: int):  # noqa: ANN001, ANN202 - Django's or psycopg's cursor
    return cursor.rowcount if want in (_COUNT, _QUEUE) else cursor.fetchone() if want == _ONE else cursor.fetchall()


class _Held:
    """The writes a `together` block holds back: at most one per table, sent as one statement."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.statements: list[str] = []
        self.params: list = []

    def add(self, db: BaseDatabaseWrapper, table: str, sql: str, params: list) -> None:
        if table in self.tables:  # a second write to a table may depend on the first: the first goes now
            self.send(db)
        self.tables.append(table)
        self.statements.append(sql)
        self.params.extend(params)

    def send(self, db: BaseDatabaseWrapper) -> None:
        if self.statements:
            _run_kept(db, *self.take(), _COUNT)

    def take(self, main: str | None = None, main_params: Sequence = ()) -> tuple[str, list]:
        """The held writes as one statement (emptying the hold): WITH clauses before the last of them, or
        before `main` when given (a write that returns rows)."""
        *first, last = [*self.statements, main] if main is not None else self.statements
        sql = "".join(f"{'WITH' if i == 0 else ','} w{i} AS ({one}) " for i, one in enumerate(first)) + last
        params = [*self.params, *main_params]
        self.tables, self.statements, self.params = [], [], []
        return sql, params

    def flush_first(self, execute, sql, params, many, context):  # noqa: ANN001, ANN201 - Django's execute_wrapper
        self.send(context["connection"])  # an ORM statement in the block runs after what was written before it
        return execute(sql, params, many, context)


@contextmanager
def together() -> Iterator[None]:
    """Send the block's plain writes (`insert` without keys to read, `update`) to PostgreSQL as one
    statement, each a data-modifying WITH clause, instead of one round trip each.

    A held write goes out just before the next statement that is not one (a read, an ORM call, a
    second write to the same table) and at the end of the block, or with the next write that returns
    rows (`fetch_one(..., writes=table)`) as that statement's main part: what the block writes and
    reads happens in the order written. The writes sent together run as one statement: none of them sees
    another's changes, which is why a second write to a table already held sends the first one before
    it. Inside a transaction only (a failure rolls the whole of it back). Elsewhere (SQLite, logged
    queries, no transaction) every write runs at once, as written.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if (
        db.vendor != "postgresql"
        or db.queries_logged
        or db.execute_wrappers
        or not db.in_atomic_block
        or "_sqlrows_held" in db.__dict__
    ):
        yield
        return
    held = db.__dict__["_sqlrows_held"] = _Held()
    try:
        with db.execute_wrapper(held.flush_first):
            yield
            held.send(db)
    finally:
        del db.__dict__["_sqlrows_held"]


def _kept_cursor(db: BaseDatabaseWrapper):  # noqa: ANN202 - a psycopg cursor
    """The cursor `_run` uses on this connection (made anew after a reconnect). Safe to share: every
    statement's result is read before the next statement runs, and a connection is one thread's."""
    kept = getattr(db, "_sqlrows_cursor", None)
    if kept is None or kept.closed or kept.connection is not db.connection:
        kept = db._sqlrows_cursor = RawCursor(db.connection)  # type: ignore[attr-defined]
        if db.timezone is dt.UTC and kept.connection.info.parameter_status("TimeZone") == "UTC":
            # Django loads timestamptz with a Python subclass of psycopg's loader that sets the tzinfo to
            # its own zone; in a UTC session psycopg's C loader gives the same value (tzinfo UTC) three
            # times as fast, and the checkout reads some forty timestamps.
            kept.adapters.register_loader("timestamptz", TimestamptzLoader)
    return kept


def _values_sql(table: str, fields: list, rows: int, ignore_conflicts: bool) -> str:
    """`INSERT … VALUES (…), (…)` for `rows` rows of `fields`; ON CONFLICT DO NOTHING: PostgreSQL, and
    SQLite since 3.24 (RETURNING, added by the caller: both, SQLite since 3.35)."""
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    names = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ' + ", ".join([one] * rows)  # noqa: S608
    return sql + " ON CONFLICT DO NOTHING" if ignore_conflicts else sql


@lru_cache(maxsize=256)
def _insert_sql(model: type[Model], rows: int, ignore_conflicts: bool, read_keys: bool) -> tuple[str, list, bool]:
    """The statement, its fields, and whether it returns a database-made primary key (auto-increment)."""
    meta = model._meta
    auto = meta.auto_field is not None and meta.pk is meta.auto_field
    fields = [f for f in meta.concrete_fields if not (auto and f is meta.pk)]
    sql = _values_sql(meta.db_table, fields, rows, ignore_conflicts)
    returning = auto and read_keys and not ignore_conflicts  # as bulk_create: ignored conflicts leave keys unread
    if returning:
        sql += f' RETURNING "{meta.pk.column}"'
    return sql, fields, returning


def insert(*objs: Model, ignore_conflicts: bool = False, read_keys: bool = True) -> None:
    """INSERT new instances of one model, one multi-row statement (as many as the database takes at once);
    a batch job's many rows go by `copy_rows` instead.

    What `create`/`bulk_create` write, with less Python: values go through each field's own preparation
    for this database, as the ORM's would, and are sent as plain parameters (Django's bulk_create on
    PostgreSQL sends one array per column, which psycopg quotes element by element). An auto-increment
    key is read back unless conflicts are ignored (as with bulk_create) or `read_keys` is False.
    """
    if not objs:
        return
    model, db = type(objs[0]), connections[DEFAULT_DB_ALIAS]
    fields = _insert_sql(model, 1, ignore_conflicts, read_keys)[1]
    size = max(1, db.ops.bulk_batch_size(fields, objs))
    for start in range(0, len(objs), size):
        chunk = objs[start : start + size]
        sql, fields, returning = _insert_sql(model, len(chunk), ignore_conflicts, read_keys)
        prepare = _preparers(model, tuple(fields))
        params = [value for obj in chunk for value in _row(obj, fields, prepare, db)]
        if returning:
            for obj, (pk,) in zip(chunk, _run(sql, params, _ALL, db=db), strict=False):
                obj.pk = pk
        else:
            _run(sql, params, _QUEUE, model._meta.db_table, db)
        for obj in chunk:
            obj._state.adding, obj._state.db = False, db.alias


def _preparer(field):  # noqa: ANN001, ANN202
    """field.get_db_prep_save, short-cut for the plain values a batch is made of (str, int, bool, None):
    those fields would return them unchanged on both databases."""
    if isinstance(field, ForeignKey):
        return _preparer(field.target_field)
    plain = (
        str
        if type(field) in (CharField, TextField)
        else bool
        if type(field) is BooleanField
        else int
        if isinstance(field, IntegerField) and not field.primary_key
        else None
    )

    def prepare(value, db):  # noqa: ANN001, ANN202
        if value is None or (plain is not None and type(value) is plain):
            return value
        return field.get_db_prep_save(value, db)

    return prepare


@lru_cache(maxsize=512)
def _preparers(model: type[Model], fields: tuple) -> list:
    return [_preparer(f) for f in fields]


def _row(obj: Model, fields: list, prepare: list, db) -> list:  # noqa: ANN001
    return [p(f.pre_save(obj, True), db) for f, p in zip(fields, prepare, strict=True)]


def concrete_field(meta: Options, name: str) -> Field:
    """The model's field of that name that has a column (not a reverse relation)."""
    field = meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{meta.label}.{name} has no column")
    return field


def update(obj: Model, names: list[str]) -> None:
    """UPDATE the named fields of a saved instance (what `save(update_fields=...)` writes)."""
    meta = obj._meta
    fields = [concrete_field(meta, name) for name in names]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.pk.column}" = %s'  # noqa: S608 - names from metadata
    db = connections[DEFAULT_DB_ALIAS]
    params = [f.get_db_prep_save(getattr(obj, f.attname), db) for f in fields]
    _run(sql, [*params, obj.pk], _QUEUE, meta.db_table, db)


class _AnyArray:
    """`field__any=values`: `IN (…)`, but on PostgreSQL `= ANY(%s)` with the values as one array parameter.

    A batch's 200 ids are then one parameter: the statement's text is short and the same for every batch,
    so psycopg parses it once and prepares it, instead of a new 200-placeholder text on every call.
    """

    def as_postgresql(self, compiler, connection):  # noqa: ANN001, ANN201
        if not self.rhs_is_direct_value():
            return self.as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [
            field.get_db_prep_value(v, connection, prepared=True) for v in dict.fromkeys(self.rhs) if v is not None
        ]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


@Field.register_lookup
class AnyOf(_AnyArray, In):
    lookup_name = "any"


@ForeignObject.register_lookup
class RelatedAnyOf(_AnyArray, RelatedIn):
    lookup_name = "any"


def copy_rows(
    model: type[Model], names: Sequence[str], rows: Iterable[Sequence], *, ignore_conflicts: bool = False
) -> None:
    """Write new rows given as tuples (a batch job's bookkeeping), without building model instances.

    `names`: every concrete field but an auto-increment key, by attname; values in that order, ready for
    the database (str, int, bool, datetime, None; a JSON field's value as Python data). PostgreSQL gets one
    COPY, other databases multi-row INSERTs; the same constraints hold either way. With `ignore_conflicts`,
    a row that breaks a unique constraint is skipped (PostgreSQL: one INSERT from arrays, as COPY cannot).
    """
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields if f is not meta.auto_field}
    if set(names) != set(by_attname) or len(names) != len(by_attname):
        raise ValueError(f"copy_rows({meta.label}) takes exactly the columns {sorted(by_attname)}")
    fields = [by_attname[name] for name in names]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    table = meta.db_table
    db = connections[DEFAULT_DB_ALIAS]
    held: _Held | None = db.__dict__.get("_sqlrows_held")
    if held is not None:
        held.send(db)  # COPY goes around the execute wrapper that sends held writes first
    if connection.vendor == "postgresql":
        # psycopg writes str, int, bool, datetime and None as they are; JSON goes as its text.
        dumps = [(i, f.encoder) for i, f in enumerate(fields) if isinstance(f, JSONField)]
        if ignore_conflicts:
            rows = [_json_ready(row, dumps) for row in rows]
            if rows:
                arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
                execute(
                    f'INSERT INTO "{table}" ({columns}) SELECT * FROM unnest({arrays}) '  # noqa: S608
                    "ON CONFLICT DO NOTHING",
                    [list(column) for column in zip(*rows, strict=True)],
                )
            return
        with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(_json_ready(row, dumps))
        return
    db, prepare = connection, _preparers(model, tuple(fields))
    values = [[p(value, db) for p, value in zip(prepare, row, strict=True)] for row in rows]
    size = max(1, connection.ops.bulk_batch_size(fields, values))
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            cursor.execute(
                _values_sql(table, fields, len(chunk), ignore_conflicts), [value for row in chunk for value in row]
            )


def _json_ready(row: Sequence, dumps: list) -> Sequence:
    if not dumps:
        return row
    values = list(row)
    for i, encoder in dumps:
        if values[i] is not None:
            values[i] = json.dumps(values[i], cls=encoder)
    return tuple(values)

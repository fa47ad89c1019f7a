"""One UPDATE for many rows with different values (a batch's bookkeeping, PostgreSQL's UPDATE … FROM unnest).

Django's bulk_update builds a CASE per row and field, which costs more Python than the renewal itself;
on PostgreSQL one `UPDATE t SET … FROM unnest(%s, …) v WHERE t.pk = v.pk` does it, one array per column
(a short statement, the same for every batch: prepared once). Elsewhere (SQLite) it falls back to one
UPDATE per row.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

from seatplan.sqlrows import concrete_field


def rows_update(
    model: type[Model],
    fields: Sequence[str],
    rows: Sequence[tuple],
    *,
    sql_types: Sequence[str],
    bump_version: bool = False,
) -> None:
    """rows: (pk, *values in `fields` order); sql_types: PostgreSQL type of each field (for NULLs)."""
    if not rows:
        return
    meta = model._meta
    columns = [concrete_field(meta, name).column for name in fields]
    pk = meta.pk.column
    if connection.vendor != "postgresql":
        for row in rows:
            values = dict(zip(fields, row[1:], strict=True))
            if bump_version:
                from django.db.models import F

                values["version"] = F("version") + 1
            model._default_manager.filter(pk=row[0]).update(**values)
        return
    pk_type = "varchar" if meta.pk.get_internal_type() == "CharField" else "bigint"
    arrays = ", ".join(f"%s::{t}[]" for t in [pk_type, *sql_types])
    assignments = ", ".join(f'"{c}" = v."{c}"' for c in columns)
    if bump_version:
        assignments += ', "version" = t."version" + 1'
    names = ", ".join(f'"{c}"' for c in columns)
    # Identifiers come from the model's own metadata, values go as parameters: nothing user-made in the text.
    sql = f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM unnest({arrays}) AS v("{pk}", {names}) WHERE t."{pk}" = v."{pk}"'  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])

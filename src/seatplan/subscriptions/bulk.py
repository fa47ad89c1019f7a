"""One UPDATE for many rows with different values (a batch's bookkeeping, PostgreSQL's UPDATE … FROM VALUES).

Django's bulk_update builds a CASE per row and field, which costs more Python than the renewal itself;
on PostgreSQL one `UPDATE t SET … FROM (VALUES …) v WHERE t.pk = v.pk` does it. Elsewhere (SQLite)
it falls back to one UPDATE per row.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def rows_update(model: type[Model], fields: Sequence[str], rows: Sequence[tuple], *, sql_types: Sequence[str],
                bump_version: bool = False) -> None:
    """rows: (pk, *values in `fields` order); sql_types: PostgreSQL type of each field (for NULLs)."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    pk = meta.pk.column
    if connection.vendor != "postgresql":
        for row in rows:
            values = dict(zip(fields, row[1:], strict=True))
            if bump_version:
                from django.db.models import F

                values["version"] = F("version") + 1
            model.objects.filter(pk=row[0]).update(**values)
        return
    placeholders = "(" + ", ".join(["%s"] + [f"%s::{t}" for t in sql_types]) + ")"
    assignments = ", ".join(f'"{c}" = v."{c}"' for c in columns)
    if bump_version:
        assignments += ', "version" = t."version" + 1'
    # Identifiers come from the model's own metadata, values go as parameters: nothing user-made in the text.
    values = ", ".join([placeholders] * len(rows))
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM (VALUES {values}) AS v("{pk}", {names}) WHERE t."{pk}" = v."{pk}"'  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])

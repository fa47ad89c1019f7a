"""Django's PostgreSQL backend without the second index Django adds to every text key.

For each indexed `varchar` column (every primary key, foreign key and unique code here, since ids are
text) Django creates a `…_like` index with `varchar_pattern_ops` besides the normal one, for
`LIKE 'abc%'` queries. Seatplan never searches ids by prefix, so those indexes only cost: every insert and
every non-HOT update writes twice as many index entries, and they double the indexes the database has to
keep in memory. The events migration 0004 drops them from a database created before this backend.
"""

from django.db.backends.postgresql import base, schema


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _create_like_index_sql(self, model, field):  # noqa: ANN001, ANN202
        return None


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor

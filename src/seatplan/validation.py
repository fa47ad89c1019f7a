"""Text from people checked against the column it goes to, so that no database refuses it later.

PostgreSQL enforces a CharField's max_length (SQLite does not): a value longer than its column must be a
clear `value_too_long` before the write, not a failed statement.
"""

from django.db.models import Model

from seatplan.billing.errors import BillingError


def clean_text(
    value: object,
    *,
    model: type[Model],
    field: str,
    param: str | None = None,
    empty: str | None = None,
    max_length: int | None = None,
) -> str:
    """`value` trimmed; `empty`: the message when it may not be blank (code `{param}_invalid`); `max_length`
    for a column without one of its own (a TextField)."""
    param = param or field
    text = "" if value is None else str(value).strip()
    if empty is not None and not text:
        raise BillingError(f"{param}_invalid", empty, param)
    limit = max_length or getattr(model._meta.get_field(field), "max_length", None)
    if limit is not None and len(text) > limit:
        raise BillingError("value_too_long", f"{param} is at most {limit} characters.", param)
    return text

"""Opaque, prefixed identifiers (`sub_…`, `inv_…`) for everything the API exposes."""

import secrets
from collections.abc import Callable


def make_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class new_id:  # noqa: N801 - used like a function in field defaults
    """A picklable default for model fields, so migrations can reference it."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return make_id(self.prefix)

    def deconstruct(self) -> tuple[str, tuple[str], dict]:
        return ("seatplan.ids.new_id", (self.prefix,), {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, new_id) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)


IdFactory = Callable[[], str]

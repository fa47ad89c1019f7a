"""The one error type of the domain and the services."""


class BillingError(Exception):
    """A refusal with a stable machine code (API.md) and a sentence for people."""

    def __init__(self, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    def __repr__(self) -> str:
        return f"BillingError({self.code!r}, {self.message!r}, param={self.param!r})"

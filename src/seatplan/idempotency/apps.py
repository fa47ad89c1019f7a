from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "seatplan.idempotency"
    label = "idempotency"

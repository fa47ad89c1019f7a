from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "seatplan.payments"
    label = "payments"

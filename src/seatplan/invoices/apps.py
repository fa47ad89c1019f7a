from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "seatplan.invoices"
    label = "invoices"

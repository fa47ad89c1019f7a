from django.apps import AppConfig


class LeasesConfig(AppConfig):
    name = "seatplan.leases"
    label = "leases"

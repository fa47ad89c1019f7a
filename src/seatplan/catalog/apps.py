from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "seatplan.catalog"
    label = "catalog"

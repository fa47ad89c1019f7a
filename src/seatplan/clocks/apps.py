from django.apps import AppConfig


class ClocksConfig(AppConfig):
    name = "seatplan.clocks"
    label = "clocks"

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "seatplan.web"
    label = "web"

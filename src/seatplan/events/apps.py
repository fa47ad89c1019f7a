from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "seatplan.events"
    label = "events"

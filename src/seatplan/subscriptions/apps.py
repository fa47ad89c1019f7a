from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "seatplan.subscriptions"
    label = "subscriptions"

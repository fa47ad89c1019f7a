from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "seatplan.accounts"
    label = "accounts"

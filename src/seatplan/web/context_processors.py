"""Which section of the navigation the current page belongs to."""

from django.http import HttpRequest

SECTIONS = {
    "subscriptions": "subscriptions",
    "upgrade": "subscriptions",
    "subscribe": "subscriptions",
    "cancel": "subscriptions",
    "confirmation": "subscriptions",
    "invoices": "billing",
    "invoice": "billing",
    "payment_method": "payment",
    "payment_method_remove": "payment",
    "billing_details": "details",
    "people": "people",
    "member_remove": "people",
    "transfer_ownership": "people",
    "account_settings": "account",
    "account_delete": "account",
    "usage": "usage",
}


def nav(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    return {"nav": SECTIONS.get(match.url_name, "") if match else ""}

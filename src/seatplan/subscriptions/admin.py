from django.contrib import admin

from seatplan.subscriptions.models import Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Read-only: subscriptions change through quotes and checkout, so every change is billed and audited."""

    list_display = [
        "id",
        "account",
        "product",
        "quantity",
        "billing_cycle",
        "status",
        "current_period_end",
        "auto_renew",
    ]
    list_filter = ["status", "billing_cycle"]
    search_fields = ["id", "account__name"]

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

from django.contrib import admin

from seatplan.invoices.models import Invoice, InvoiceLine


class LineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    """Issued invoices are never edited: corrections are new documents."""

    list_display = ["number", "account", "status", "total", "amount_paid", "currency", "issued_at"]
    list_filter = ["status"]
    search_fields = ["number", "account__name"]
    inlines = [LineInline]

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

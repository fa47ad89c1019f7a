from django.contrib import admin

from seatplan.catalog.models import DiscountCode, Price, Product


class PriceInline(admin.TabularInline):
    model = Price
    extra = 0
    readonly_fields = ["currency", "billing_cycle", "unit_amount", "created_at"]  # prices are never edited
    can_delete = False


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "unit_name", "trial_days", "trial_quantity"]
    inlines = [PriceInline]


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "percent_off", "amount_off", "currency", "duration", "times_redeemed", "max_redemptions"]
    search_fields = ["code"]
    readonly_fields = ["times_redeemed"]

from django.contrib import admin

from seatplan.accounts.models import Account, ApiKey, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "credit_balance", "test_clock", "created_at"]
    search_fields = ["name", "memberships__user__email"]
    inlines = [MembershipInline]
    readonly_fields = ["credit_balance", "created_at"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "is_staff", "is_active"]
    search_fields = ["email", "name"]
    exclude = ["password"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "account", "created_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at"]

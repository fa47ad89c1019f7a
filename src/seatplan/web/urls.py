from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from seatplan.web.views import auth, billing, checkout, operator, people, subscriptions, usage

app_name = "web"

urlpatterns = [
    path("", auth.home, name="home"),
    path("signin/", auth.signin, name="signin"),
    path("signout/", auth.signout, name="signout"),
    path("switch/", auth.switch_account, name="switch_account"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="web/password_reset.html",
            email_template_name="web/email/password_reset.txt",
            subject_template_name="web/email/password_reset_subject.txt",
            success_url=reverse_lazy("web:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="web/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="web/password_reset_confirm.html", success_url=reverse_lazy("web:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="web/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("settings/subscriptions/", subscriptions.subscription_management, name="subscriptions"),
    path("settings/subscriptions/new/", checkout.checkout_page, name="subscribe"),
    path("settings/subscriptions/trial/", subscriptions.trial_begin, name="trial"),
    path("settings/subscriptions/<str:subscription_id>/upgrade/", checkout.checkout_page, name="upgrade"),
    path("settings/subscriptions/<str:subscription_id>/cancel/", subscriptions.subscription_cancel, name="cancel"),
    path(
        "settings/subscriptions/<str:subscription_id>/reactivate/",
        subscriptions.subscription_reactivate,
        name="reactivate",
    ),
    path("settings/checkout/done/<str:invoice_id>/", checkout.confirmation, name="confirmation"),
    path("billing/", billing.invoice_list, name="invoices"),
    path("billing/invoices/<str:invoice_id>/", billing.invoice_detail, name="invoice"),
    path("billing/invoices/<str:invoice_id>/pdf/", billing.invoice_download, name="invoice_pdf"),
    path("billing/payment-method/", billing.payment_method, name="payment_method"),
    path("billing/payment-method/remove/", billing.payment_method_remove, name="payment_method_remove"),
    path("billing/details/", billing.billing_details, name="billing_details"),
    path("people/", people.people, name="people"),
    path("people/invite/", people.member_invite, name="member_invite"),
    path("people/<str:member_id>/role/", people.member_role, name="member_role"),
    path("people/<str:member_id>/remove/", people.member_remove, name="member_remove"),
    path("people/transfer-ownership/", people.ownership_transfer, name="transfer_ownership"),
    path("settings/account/", people.account_settings, name="account_settings"),
    path("settings/account/delete/", people.account_delete, name="account_delete"),
    path("usage/", usage.usage_page, name="usage"),
    path("operator/revenue/", operator.revenue, name="revenue"),
]

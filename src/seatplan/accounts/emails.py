"""E-mails about people: the invitation to set a password."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from seatplan.accounts.models import Account, User
from seatplan.events.services import email_enqueue


def invitation_send(*, user: User, account: Account, role: str, new_user: bool, now: datetime) -> None:
    link = settings.SITE_URL + reverse("web:signin")
    if new_user:
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        link = settings.SITE_URL + reverse("web:password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    body = f"You were added to {account.name} on Seatplan as {role.replace('_', ' ')}.\n\n" + (
        f"Set your password to sign in:\n{link}\n" if new_user else f"Sign in:\n{link}\n"
    )
    email_enqueue(
        account_id=account.pk, to=[user.email], subject=f"You were added to {account.name}", body=body, now=now
    )

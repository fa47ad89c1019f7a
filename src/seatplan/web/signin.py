"""Sign-in with e-mail and password, rate-limited per e-mail and per address."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest

from seatplan.accounts.models import SignInFailure, User
from seatplan.billing.errors import BillingError


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def signin_check(*, request: HttpRequest, email: str, password: str, now: datetime) -> User:
    """The user for these credentials; refuses while too many recent failures."""
    email = email.strip().lower()
    address = client_address(request)
    since = now - timedelta(seconds=settings.SIGNIN_WINDOW_SECONDS)
    recent = SignInFailure.objects.filter(created_at__gte=since)
    limit = settings.SIGNIN_MAX_FAILURES
    if recent.filter(email=email).count() >= limit or recent.filter(ip_address=address).count() >= 4 * limit:
        raise BillingError("rate_limited", "Too many failed sign-ins. Try again in 15 minutes.")
    user = authenticate(request, username=email, password=password)
    if user is None:
        SignInFailure.objects.create(email=email, ip_address=address, created_at=now)
        raise BillingError("signin_failed", "That e-mail and password do not match.")
    SignInFailure.objects.filter(email=email).delete()
    return user

"""Accounts, people and API keys: every write is one transaction with its audit entry."""

import hashlib
import secrets
from datetime import datetime

from django.db import transaction

from seatplan.accounts.emails import invitation_send
from seatplan.accounts.models import Account, ApiKey, Membership, Role, User
from seatplan.accounts.permissions import MANAGEABLE_ROLES, Actor, Capability
from seatplan.billing.errors import BillingError
from seatplan.billing.money import currency_known
from seatplan.events.services import audit_record, outbox_add
from seatplan.validation import clean_text

API_KEY_PREFIX = "sp_"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _validate_currency(currency: str) -> str:
    code = currency.strip().upper()
    if not currency_known(code):
        raise BillingError("currency_invalid", f"Unknown currency {currency!r}.", "currency")
    return code


ACCOUNT_NAME_REQUIRED = "An account needs a name."


def user_get_or_create(*, email: str, now: datetime, param: str = "email") -> tuple[User, bool]:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = clean_text(email, model=User, field="email", param=param).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise BillingError("email_invalid", "Enter a valid e-mail address.", param) from None
    user = User.objects.filter(email=email).first()
    if user:
        return user, False
    return User.objects.create_user(email=email, password=None, date_joined=now), True


@transaction.atomic
def account_create(
    *,
    actor: Actor,
    name: str,
    owner_email: str,
    currency: str = "USD",
    test_clock_id: str | None = None,
    now: datetime,
) -> Account:
    if not (actor.is_operator or actor.is_system):
        raise BillingError("permission_denied", "Only operators create accounts.")
    name = clean_text(name, model=Account, field="name", empty=ACCOUNT_NAME_REQUIRED)
    code = _validate_currency(currency)
    if test_clock_id is not None:
        from seatplan.clocks.models import TestClock
        from seatplan.clocks.services import require_sandbox

        require_sandbox()
        if not TestClock.objects.filter(pk=test_clock_id).exists():
            raise BillingError("not_found", "No such test clock.", "test_clock")
    account = Account.objects.create(name=name, currency=code, test_clock_id=test_clock_id, created_at=now)
    owner, created = user_get_or_create(email=owner_email, now=now, param="owner_email")
    Membership.objects.create(account=account, user=owner, role=Role.OWNER, created_at=now)
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="account.created",
        obj=account,
        now=now,
        after={"name": account.name, "owner": owner.email, "currency": code},
    )
    invitation_send(user=owner, account=account, role=Role.OWNER, new_user=created, now=now)
    return account


def _check_can_touch(actor: Actor, role: str) -> None:
    actor.require(Capability.MANAGE_PEOPLE)
    if not actor.is_system and role not in MANAGEABLE_ROLES[actor.role or "member"]:
        raise BillingError("permission_denied", f"Your role may not manage a {role.replace('_', ' ')}.")


def _refuse_owner_change(actor: Actor, message: str, code: str, field: str | None = None) -> None:
    """Only the Owner hears how the Owner can change; anyone else is simply not allowed."""
    actor.require(Capability.MANAGE_PEOPLE)
    if not actor.is_system and actor.role != Role.OWNER:
        raise BillingError("permission_denied", "Your role may not manage the Owner.")
    raise BillingError(code, message, field)


def _validate_role(role: str) -> str:
    if role not in Role.values:
        raise BillingError("role_invalid", f"Unknown role {role!r}.", "role")
    return role


@transaction.atomic
def member_add(*, actor: Actor, account: Account, email: str, role: str, now: datetime) -> Membership:
    _validate_role(role)
    if role == Role.OWNER:
        _refuse_owner_change(actor, "Ownership is transferred, not granted.", "role_invalid", "role")
    _check_can_touch(actor, role)
    user, created = user_get_or_create(email=email, now=now)
    if Membership.objects.filter(account=account, user=user).exists():
        raise BillingError("member_exists", f"{user.email} is already in this account.", "email")
    membership = Membership.objects.create(account=account, user=user, role=role, created_at=now)
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="member.added",
        obj=membership,
        now=now,
        after={"email": user.email, "role": role},
    )
    invitation_send(user=user, account=account, role=role, new_user=created, now=now)
    return membership


@transaction.atomic
def member_change_role(*, actor: Actor, membership: Membership, role: str, now: datetime) -> Membership:
    _validate_role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role == Role.OWNER or membership.role == Role.OWNER:
        _refuse_owner_change(actor, "Use transfer of ownership to change the Owner.", "owner_required", "role")
    _check_can_touch(actor, membership.role)
    _check_can_touch(actor, role)
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        actor=actor,
        account_id=membership.account_id,
        action="member.role_changed",
        obj=membership,
        now=now,
        before={"role": before},
        after={"role": role},
    )
    return membership


@transaction.atomic
def member_remove(*, actor: Actor, membership: Membership, now: datetime) -> None:
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.OWNER:
        _refuse_owner_change(actor, "The Owner cannot be removed; transfer ownership first.", "owner_required")
    _check_can_touch(actor, membership.role)
    audit_record(
        actor=actor,
        account_id=membership.account_id,
        action="member.removed",
        obj=membership,
        now=now,
        before={"email": membership.user.email, "role": membership.role},
    )
    ApiKey.objects.filter(account_id=membership.account_id, user_id=membership.user_id).update(revoked_at=now)
    membership.delete()


@transaction.atomic
def ownership_transfer(*, actor: Actor, account: Account, membership: Membership, now: datetime) -> Membership:
    actor.require(Capability.TRANSFER_OWNERSHIP)
    members = {m.pk: m for m in Membership.objects.select_for_update().filter(account=account)}
    target = members.get(membership.pk)
    if target is None:
        raise BillingError("not_found", "No such member.", "member")
    owner = next(m for m in members.values() if m.role == Role.OWNER)
    if target.pk == owner.pk:
        raise BillingError("nothing_to_change", "That member is already the Owner.", "member")
    # Demote first: the one-owner constraint holds at every statement.
    owner.role = Role.ADMIN
    owner.save(update_fields=["role"])
    previous_role = target.role
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="account.ownership_transferred",
        obj=target,
        now=now,
        before={"owner": owner.user.email, "role": previous_role},
        after={"owner": target.user.email},
    )
    return target


@transaction.atomic
def api_key_create(
    *, actor: Actor, account: Account, name: str, user_email: str | None = None, now: datetime
) -> tuple[ApiKey, str]:
    """Mint a key for the calling user (or, for an operator, for a member); the key is shown once."""
    name = clean_text(name, model=ApiKey, field="name", empty="A key needs a name.")
    if user_email is not None:
        if not actor.is_operator:
            raise BillingError("permission_denied", "Only operators mint keys for other people.", "user_email")
        membership = Membership.objects.filter(account=account, user__email=user_email.strip().lower()).first()
        if membership is None:
            raise BillingError("not_found", "No such member in this account.", "user_email")
        user = membership.user
    else:
        if actor.role is None or actor.user is None:
            raise BillingError("permission_denied", "Only members of the account create its keys.")
        user = actor.user
    secret = API_KEY_PREFIX + secrets.token_urlsafe(30)
    key = ApiKey.objects.create(
        user=user, account=account, name=name, prefix=secret[:10], key_hash=hash_api_key(secret), created_at=now
    )
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="api_key.created",
        obj=key,
        now=now,
        after={"user": user.email, "name": key.name},
    )
    return key, secret


@transaction.atomic
def operator_key_create(*, email: str, now: datetime) -> tuple[ApiKey, str]:
    user, _ = user_get_or_create(email=email, now=now)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    secret = API_KEY_PREFIX + secrets.token_urlsafe(30)
    key = ApiKey.objects.create(
        user=user, account=None, name="operator", prefix=secret[:10], key_hash=hash_api_key(secret), created_at=now
    )
    return key, secret


BILLING_FIELDS = ("business_name", "address", "country", "vat_id", "invoice_emails")


@transaction.atomic
def account_rename(*, actor: Actor, account: Account, name: str, now: datetime) -> Account:
    """The Owner renames the account (account settings, SPEC §2); invoices already issued keep the old name."""
    actor.require(Capability.ACCOUNT_SETTINGS)
    name = clean_text(name, model=Account, field="name", empty=ACCOUNT_NAME_REQUIRED)
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.name == name:
        return account
    before = {"name": account.name}
    account.name = name
    account.save(update_fields=["name"])
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="account.renamed",
        obj=account,
        now=now,
        before=before,
        after={"name": name},
    )
    outbox_add(account_id=account.pk, type="account.updated", payload={"account": account.pk, "name": name}, now=now)
    return account


@transaction.atomic
def billing_details_update(*, actor: Actor, account: Account, details: dict, now: datetime) -> Account:
    actor.require(Capability.BILLING)
    unknown = set(details) - set(BILLING_FIELDS)
    if unknown:
        raise BillingError("parameter_unknown", f"Unknown field {sorted(unknown)[0]!r}.", sorted(unknown)[0])
    cleaned = _clean_billing_details(details)
    account = Account.objects.select_for_update().get(pk=account.pk)
    before = account.billing_details()
    for field, value in cleaned.items():
        setattr(account, field, value)
    account.save(update_fields=list(cleaned))
    audit_record(
        actor=actor,
        account_id=account.pk,
        action="account.billing_details_updated",
        obj=account,
        now=now,
        before=before,
        after=account.billing_details(),
    )
    return account


def _clean_billing_details(details: dict) -> dict:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    cleaned: dict = {}
    for field in ("business_name", "address", "vat_id"):
        if field in details:
            cleaned[field] = clean_text(
                details[field], model=Account, field=field, max_length=500 if field == "address" else None
            )
    if "country" in details:
        country = str(details["country"] or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise BillingError("country_invalid", "Country is a two-letter ISO code, e.g. DE.", "country")
        cleaned["country"] = country
    if "invoice_emails" in details:
        emails = details["invoice_emails"] or []
        if not isinstance(emails, list) or len(emails) > 10:
            raise BillingError("email_invalid", "Up to 10 extra invoice e-mail addresses.", "invoice_emails")
        for email in emails:
            try:
                validate_email(email)
            except (ValidationError, TypeError) as exc:
                raise BillingError("email_invalid", f"{email!r} is not an e-mail address.", "invoice_emails") from exc
        cleaned["invoice_emails"] = [e.strip().lower() for e in emails]
    return cleaned

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q

from seatplan.ids import new_id


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)  # None → unusable until set via an invitation
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        return self.create_user(email, password, is_staff=True, is_superuser=True, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; e-mail is the sign-in name. `is_staff` marks the vendor's operators."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("user"), editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Account(models.Model):
    """A customer company: its billing details, currency, credit and people."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("acct"), editable=False)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    business_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    vat_id = models.CharField(max_length=40, blank=True)
    invoice_emails = models.JSONField(default=list, blank=True)
    # Minor units owed to the customer (unused time worth more than a checkout's charges).
    credit_balance = models.BigIntegerField(default=0)
    test_clock = models.ForeignKey(
        "clocks.TestClock", null=True, blank=True, on_delete=models.PROTECT, related_name="accounts"
    )
    created_at = models.DateTimeField()
    # Deleted by its Owner (SPEC §2): people, keys and card gone; invoices and audit kept for the books.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(credit_balance__gte=0), name="account_credit_nonnegative"),
        ]

    def __str__(self) -> str:
        return self.name

    def billing_details(self) -> dict:
        return {
            "business_name": self.business_name,
            "address": self.address,
            "country": self.country,
            "vat_id": self.vat_id,
            "invoice_emails": list(self.invoice_emails),
        }


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    BILLING_MANAGER = "billing_manager", "Billing Manager"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_id("mem"), editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="membership_unique_user"),
            # Exactly one Owner: at most one here, at least one kept by the services.
            models.UniqueConstraint(fields=["account"], condition=Q(role="owner"), name="membership_one_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.account}"


class ApiKey(models.Model):
    """A bearer key; only its SHA-256 is stored, the key itself is shown once."""

    id = models.CharField(primary_key=True, max_length=32, default=new_id("key"), editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    # Null for an operator key, which reads every account.
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SignInFailure(models.Model):
    """A failed sign-in, counted to slow down password guessing."""

    email = models.CharField(max_length=254, db_index=True)
    ip_address = models.CharField(max_length=45, db_index=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.email} from {self.ip_address}"

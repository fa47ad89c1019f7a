"""Who may do what (SPEC §2). Checked in the services, so every interface gets it."""

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from seatplan.billing.errors import BillingError

if TYPE_CHECKING:
    from seatplan.accounts.models import User


class Capability(StrEnum):
    VIEW = "view"
    PURCHASE = "purchase"  # subscribe, upgrade, cancel, reactivate
    BILLING = "billing"  # payment method, billing details, invoices
    MANAGE_PEOPLE = "manage_people"
    ACCOUNT_SETTINGS = "account_settings"
    TRANSFER_OWNERSHIP = "transfer_ownership"
    START_SESSIONS = "start_sessions"


ROLE_CAPABILITIES: dict[str, set[Capability]] = {
    "owner": set(Capability),
    "billing_manager": {Capability.VIEW, Capability.PURCHASE, Capability.BILLING, Capability.MANAGE_PEOPLE},
    "admin": {Capability.VIEW, Capability.MANAGE_PEOPLE, Capability.START_SESSIONS},
    "member": {Capability.VIEW, Capability.START_SESSIONS},
}

# The roles each role may touch (change, remove) or grant: "not Owner", "not Billing Manager".
MANAGEABLE_ROLES: dict[str, set[str]] = {
    "owner": {"billing_manager", "admin", "member"},
    "billing_manager": {"billing_manager", "admin", "member"},
    "admin": {"admin", "member"},
    "member": set(),
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a person with a role in the account at hand, an operator, or the system."""

    user: "User | None"
    role: str | None = None
    is_operator: bool = False
    is_system: bool = False

    @property
    def label(self) -> str:
        if self.is_system:
            return "system"
        prefix = "operator" if self.is_operator and self.role is None else "user"
        return f"{prefix}:{self.user.pk if self.user else '-'}"

    def can(self, capability: Capability) -> bool:
        if self.is_system:
            return True
        if self.role is None:
            # Operators read every account; they act on one only through a member's key.
            return self.is_operator and capability == Capability.VIEW
        return capability in ROLE_CAPABILITIES[self.role]

    def require_read(self, capability: Capability) -> None:
        """Reading what `capability` manages; operators read every account."""
        if not (self.is_operator and self.role is None):
            self.require(capability)

    def require(self, capability: Capability) -> None:
        if not self.can(capability):
            raise BillingError("permission_denied", "Your role does not allow this action.")


SYSTEM = Actor(user=None, is_system=True)

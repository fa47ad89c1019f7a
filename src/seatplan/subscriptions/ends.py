"""Terms that end by themselves and the e-mails ahead of time (SPEC §4.4, §4.5, §4.6).

- A cancelled subscription (auto-renew off) becomes `ended` at its period end, with no invoice.
- A trial becomes `ended` at its trial end, unless a checkout converted it.
- 7 days before a renewal, and 3 days before a trial ends, a reminder e-mail goes out, once.
Each piece of work is claimed with `SKIP LOCKED` and changes the row so it is no longer due.
"""

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q, QuerySet

from seatplan.billing.renewal import REMINDER_BEFORE, TRIAL_REMINDER_BEFORE, renewal_compute
from seatplan.subscriptions import emails
from seatplan.subscriptions.models import Status, Subscription
from seatplan.subscriptions.renewal import scoped, sub_end
from seatplan.subscriptions.serialize import subscription_snapshot
from seatplan.subscriptions.terms import current_terms

BATCH_SIZE = 200


def _claim(queryset: QuerySet) -> list[Subscription]:
    """Lock a batch of due rows that no other worker holds (call inside a transaction)."""
    # Ids first, without joins: the lock query stays an index scan however many rows are due.
    ids = list(queryset.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[:BATCH_SIZE])
    return list(Subscription.objects.filter(pk__in=ids).select_related("product", "discount_code").order_by("pk"))


def terms_end(*, now: datetime, account_ids: list[str] | None = None) -> int:
    """End trials past their end and cancelled subscriptions past their period end."""
    due = Subscription.objects.filter(status=Status.ACTIVE).filter(
        Q(is_trial=True, trial_end__lte=now) | Q(is_trial=False, auto_renew=False, current_period_end__lte=now)
    )
    ended = 0
    while True:
        with transaction.atomic():
            batch = _claim(scoped(due, account_ids))
            mails = []
            for sub in batch:
                before = subscription_snapshot(sub)
                if sub.is_trial:
                    email = sub_end(
                        sub,
                        ended_at=sub.trial_end or now,
                        action="subscription.trial_ended",
                        before=before,
                        now=now,
                        reason="the free trial is over.",
                    )
                else:
                    email = sub_end(
                        sub,
                        ended_at=sub.current_period_end,
                        action="subscription.ended",
                        before=before,
                        now=now,
                        reason="it was cancelled and its last paid period is over.",
                    )
                mails.append((sub.account_id, email))
            emails.emails_queue(mails, now)
        if not batch:
            return ended
        ended += len(batch)


def reminders_send(*, now: datetime, account_ids: list[str] | None = None) -> int:
    """The renewal reminder (7 days ahead) and the trial-ending e-mail (3 days ahead), once each."""
    renewals = Subscription.objects.filter(
        status=Status.ACTIVE,
        auto_renew=True,
        is_trial=False,
        current_period_end__gt=now,
        current_period_end__lte=now + REMINDER_BEFORE,
    ).exclude(reminder_sent_for=F("current_period_end"))
    trials = Subscription.objects.filter(
        status=Status.ACTIVE,
        is_trial=True,
        trial_end__gt=now,
        trial_end__lte=now + TRIAL_REMINDER_BEFORE,
    ).exclude(reminder_sent_for=F("trial_end"))
    sent = 0
    for due in (renewals, trials):
        while True:
            with transaction.atomic():
                batch = _claim(scoped(due, account_ids))
                emails.emails_queue([(sub.account_id, _remind(sub)) for sub in batch], now)
            if not batch:
                break
            sent += len(batch)
    return sent


def _remind(sub: Subscription) -> emails.Email:
    if sub.is_trial:
        sub.reminder_sent_for = sub.trial_end
        email = emails.trial_ending(sub)
    else:
        sub.reminder_sent_for = sub.current_period_end
        # The amount as things stand, before account credit (like a quote's next_renewal_amount).
        amount = renewal_compute(current=current_terms(sub), credit_balance=0, product_name=sub.product.name).total
        email = emails.renewal_reminder(sub, amount)
    sub.save(update_fields=["reminder_sent_for"])
    return email

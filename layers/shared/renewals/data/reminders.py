"""Account updates and outbox records of manual reminders.

A manual reminder is claimed on the account with a conditional write before the email goes out, so two
concurrent requests send one email. The same write pushes the next scheduled reminder back, so the reminder
sweep cannot send a second email while the manual one is on its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from renewals.clock import from_iso, to_iso
from renewals.data.accounts import AccountNotFound, update_account, write_account
from renewals.data.models import STATUS_NEEDS_RENEWAL, AccountModel, ReminderOutboxModel

OUTBOX_KIND_MANUAL = "manual"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"


@dataclass(frozen=True)
class ManualReminderClaim:
    """A claimed manual reminder, with the values the claim replaced so that it can be released."""

    account: AccountModel
    claimed_at: datetime
    previous_manual_reminder_at: datetime | None
    previous_reminder_due_at: str | None
    pushed_reminder_due_at: str | None


@dataclass
class _ReplacedValues:
    manual_reminder_at: datetime | None = None
    reminder_due_at: str | None = None
    pushed_due_at: str | None = None


def claim_manual_reminder(
    account_id: str, now: datetime, interval: timedelta, quiet_until: datetime
) -> ManualReminderClaim:
    """Set lastManualReminderAt to `now` unless the last manual reminder is less than `interval` old.

    In the same write, a scheduled reminder due before `quiet_until` moves to `quiet_until`. Raises
    ConditionNotMet when the account no longer needs renewal or was reminded manually within `interval`, and
    AccountNotFound when it does not exist.
    """
    cutoff = now - interval
    quiet_until_text = to_iso(quiet_until)
    replaced = _ReplacedValues()

    def actions(account: AccountModel) -> list[Action]:
        # update_account refreshes `account` from the write's result, so the replaced values are copied now.
        replaced.manual_reminder_at = account.last_manual_reminder_at
        replaced.reminder_due_at = account.reminder_due_at
        replaced.pushed_due_at = None
        changes = [AccountModel.last_manual_reminder_at.set(now)]
        if account.reminder_due_at is not None and from_iso(account.reminder_due_at) < quiet_until:
            changes.append(AccountModel.reminder_due_at.set(quiet_until_text))
            replaced.pushed_due_at = quiet_until_text
        return changes

    def condition(account: AccountModel) -> Condition:
        recent_enough = AccountModel.last_manual_reminder_at.does_not_exist() | (
            AccountModel.last_manual_reminder_at <= cutoff
        )
        return (AccountModel.status == STATUS_NEEDS_RENEWAL) & recent_enough

    account = update_account(account_id, actions, condition)
    return ManualReminderClaim(
        account=account,
        claimed_at=now,
        previous_manual_reminder_at=replaced.manual_reminder_at,
        previous_reminder_due_at=replaced.reminder_due_at,
        pushed_reminder_due_at=replaced.pushed_due_at,
    )


def release_manual_reminder(claim: ManualReminderClaim) -> None:
    """Undo a claim whose email was not sent, so the accountant can try again at once.

    Each value goes back only while it is still the one the claim wrote, so a newer claim or a sweep that
    moved the due time since is left alone.
    """

    def actions(account: AccountModel) -> list[Action]:
        changes: list[Action] = []
        if account.last_manual_reminder_at == claim.claimed_at:
            if claim.previous_manual_reminder_at is None:
                changes.append(AccountModel.last_manual_reminder_at.remove())
            else:
                changes.append(AccountModel.last_manual_reminder_at.set(claim.previous_manual_reminder_at))
        pushed = claim.pushed_reminder_due_at
        if pushed is not None and account.reminder_due_at == pushed and claim.previous_reminder_due_at is not None:
            changes.append(AccountModel.reminder_due_at.set(claim.previous_reminder_due_at))
        return changes

    try:
        update_account(claim.account.account_id, actions)
    except AccountNotFound:
        return


def record_reminder_sent(account_id: str, at: datetime) -> AccountModel:
    """Count one more reminder email on the account and set the time of the last one."""
    return write_account(account_id, [AccountModel.reminders_sent.add(1), AccountModel.last_reminder_at.set(at)])


def start_outbox_entry(account_id: str, reminder_key: str, kind: str, at: datetime, recipient_hint: str) -> None:
    """Record a reminder as being sent, before the email goes out, so a crash mid-send leaves a trace.

    Raises PutError when an entry with this key exists.
    """
    entry = ReminderOutboxModel(
        account_id,
        reminder_key,
        kind=kind,
        status=OUTBOX_SENDING,
        recipient_hint=recipient_hint,
        claimed_at=at,
    )
    entry.save(condition=ReminderOutboxModel.reminder_key.does_not_exist())


def finish_outbox_entry(
    account_id: str,
    reminder_key: str,
    sent_at: datetime | None = None,
    message_id: str | None = None,
    failure: str | None = None,
) -> bool:
    """Mark an outbox entry sent (with `sent_at` and `message_id`) or failed (with `failure`).

    Returns False without writing when the entry does not exist.
    """
    entry = ReminderOutboxModel(account_id, reminder_key)
    if failure is not None:
        actions = [ReminderOutboxModel.status.set(OUTBOX_FAILED), ReminderOutboxModel.failure.set(failure)]
    else:
        actions = [
            ReminderOutboxModel.status.set(OUTBOX_SENT),
            ReminderOutboxModel.sent_at.set(sent_at),
            ReminderOutboxModel.message_id.set(message_id),
        ]
    try:
        entry.update(actions=actions, condition=ReminderOutboxModel.reminder_key.exists())
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def manual_reminder_key(at: datetime) -> str:
    return f"{OUTBOX_KIND_MANUAL}#{to_iso(at)}"

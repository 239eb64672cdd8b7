"""Demo data of the local stack: the app's users, their Walmart accounts and the stand-in Walmart's logins.

One definition feeds both the accounts table and the stand-in Walmart, so every seeded account can be renewed
with a seeded login. Seeding is idempotent: items that already exist are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import PutError

from local_stack.walmart import SellerLogin
from renewals.clock import to_iso
from renewals.data.accounts import create_account
from renewals.data.due_index import due_shard
from renewals.data.models import STATUS_NEEDS_RENEWAL, AccountModel, SuppressionModel
from renewals.data.suppressions import suppression_key
from renewals.settings import Settings

ROLE_SELLER = "seller"
ROLE_ACCOUNTANT = "accountant"
SUPPRESSION_REASON_BOUNCE = "bounce"
# Seller Center logins live on this domain; .example is reserved, so no address of the demo can reach anyone.
LOGIN_DOMAIN = "sellercentral.example"


@dataclass(frozen=True)
class DemoUser:
    """A user of the bookkeeping app, signed in locally with a token from POST /_local/token."""

    user_id: str
    name: str
    role: str
    email: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.user_id, "name": self.name, "role": self.role}


@dataclass(frozen=True)
class DemoClient:
    """The client behind an accountant-managed account; reminder emails go to this address."""

    name: str
    email: str
    bounced: bool = False


@dataclass(frozen=True)
class DemoAccount:
    """A Walmart seller account of the app, owned by a seller or managed by an accountant for a client."""

    account_id: str
    account_name: str
    walmart_seller_id: str
    login_name: str
    owner: DemoUser | None = None
    accountant: DemoUser | None = None
    client: DemoClient | None = None

    @property
    def admin_login(self) -> str:
        return f"{self.login_name}.admin@{LOGIN_DOMAIN}"

    @property
    def staff_login(self) -> str:
        return f"{self.login_name}.staff@{LOGIN_DOMAIN}"


AVERY = DemoUser("seller-avery", "Avery Lee", ROLE_SELLER, "avery@avery-outdoor.example")
BOB = DemoUser("seller-bob", "Bob Martin", ROLE_SELLER, "bob@bob-and-sons.example")
CARLA = DemoUser("accountant-carla", "Carla Diaz", ROLE_ACCOUNTANT, "carla@diaz-bookkeeping.example")

USERS: tuple[DemoUser, ...] = (AVERY, BOB, CARLA)

ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("acct-avery-outdoor", "Avery Outdoor Supply", "10000001", "avery-outdoor", owner=AVERY),
    # The names of Bob's accounts need HTML escaping, so pages and emails that show them test their escaping.
    DemoAccount("acct-bob-outlet", "Bob & Sons <Outlet>", "10000002", "bob-outlet", owner=BOB),
    DemoAccount("acct-bob-garden", 'Bob\'s "Garden" Centre', "10000003", "bob-garden", owner=BOB),
    DemoAccount("acct-bob-home", "Martin Home Goods", "10000004", "martin-home", owner=BOB),
    DemoAccount(
        "acct-fernwood-pets",
        "Fernwood Pet Supplies",
        "10000005",
        "fernwood-pets",
        accountant=CARLA,
        client=DemoClient("Dana Fernwood", "dana@fernwood-pets.example"),
    ),
    DemoAccount(
        "acct-harbor-kitchen",
        "Harbor Kitchenware",
        "10000006",
        "harbor-kitchen",
        accountant=CARLA,
        client=DemoClient("Eli Harbor", "eli@harbor-kitchen.example", bounced=True),
    ),
    DemoAccount(
        "acct-juniper-toys",
        "Juniper Toys & Games",
        "10000007",
        "juniper-toys",
        accountant=CARLA,
        client=DemoClient("Fiona Park", "fiona@juniper-toys.example"),
    ),
    DemoAccount(
        "acct-northwind-auto",
        "Northwind Auto Parts",
        "10000008",
        "northwind-auto",
        accountant=CARLA,
        client=DemoClient("Gus Novak", "gus@northwind-auto.example"),
    ),
    DemoAccount(
        "acct-sunrise-vitamins",
        "Sunrise Vitamins",
        "10000009",
        "sunrise-vitamins",
        accountant=CARLA,
        client=DemoClient("Hana Sato", "hana@sunrise-vitamins.example"),
    ),
)

# An admin login of a seller the service does not know, for trying the "wrong seller account" outcome.
STRANGER_LOGIN = SellerLogin(
    login=f"stranger-goods.admin@{LOGIN_DOMAIN}", seller_id="19999999", role="admin", display_name="Stranger Goods"
)


def user_by_id(user_id: str) -> DemoUser | None:
    return next((user for user in USERS if user.user_id == user_id), None)


def walmart_logins() -> list[SellerLogin]:
    """Return the stand-in Walmart's logins: an admin and a non-admin login per seeded seller, then a stranger."""
    logins = []
    for account in ACCOUNTS:
        logins.append(SellerLogin(account.admin_login, account.walmart_seller_id, "admin", account.account_name))
        logins.append(SellerLogin(account.staff_login, account.walmart_seller_id, "user", account.account_name))
    logins.append(STRANGER_LOGIN)
    return logins


def account_item(account: DemoAccount, settings: Settings, now: datetime) -> AccountModel:
    """Build the account item: pending renewal, with its first reminder (slot 0) due now."""
    item = AccountModel(
        account.account_id,
        account_name=account.account_name,
        walmart_seller_id=account.walmart_seller_id,
        status=STATUS_NEEDS_RENEWAL,
        reminders_sent=0,
        reminder_slot=0,
        due_shard=due_shard(account.account_id, settings.reminder_due_shards),
        reminder_due_at=to_iso(now),
        created_at=now,
    )
    if account.owner is not None:
        item.owner_id = account.owner.user_id
        item.contact_name = account.owner.name
        item.contact_email = account.owner.email
    if account.accountant is not None:
        item.accountant_id = account.accountant.user_id
        item.accountant_name = account.accountant.name
        item.accountant_email = account.accountant.email
    if account.client is not None:
        item.client_name = account.client.name
        item.client_email = account.client.email
        item.contact_name = account.client.name
        item.contact_email = account.client.email
        if account.client.bounced:
            item.email_bounced = True
    return item


@dataclass(frozen=True)
class SeedResult:
    accounts_created: int
    accounts_existing: int
    suppressions_created: int


def seed(settings: Settings, now: datetime) -> SeedResult:
    """Write the demo accounts and the bounced client's suppression; existing items are not changed."""
    created = 0
    for account in ACCOUNTS:
        if create_account(account_item(account, settings, now)):
            created += 1

    suppressions = 0
    for account in ACCOUNTS:
        if account.client is None or not account.client.bounced:
            continue
        suppression = SuppressionModel(
            suppression_key(account.client.email), reason=SUPPRESSION_REASON_BOUNCE, created_at=now
        )
        try:
            suppression.save(condition=SuppressionModel.email.does_not_exist())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
            continue
        suppressions += 1
    return SeedResult(
        accounts_created=created, accounts_existing=len(ACCOUNTS) - created, suppressions_created=suppressions
    )

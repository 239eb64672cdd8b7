import pytest

from renewals.settings import SettingsError, load_settings

COMPLETE_ENVIRONMENT = {
    "ACCOUNTS_TABLE": "accounts",
    "CREDENTIALS_TABLE": "credentials",
    "OAUTH_STATES_TABLE": "states",
    "START_TICKETS_TABLE": "tickets",
    "MAGIC_LINKS_TABLE": "links",
    "DISMISSALS_TABLE": "dismissals",
    "REMINDER_OUTBOX_TABLE": "outbox",
    "SUPPRESSIONS_TABLE": "suppressions",
    "PUBLIC_BASE_URL": "https://renew.example.test",
    "APP_URL": "https://app.example.test/dashboard",
    "WALMART_AUTHORIZE_URL": "https://login.account.wal-mart.com/authorize",
    "WALMART_API_BASE_URL": "https://marketplace.walmartapis.com",
    "WALMART_REDIRECT_URI": "https://renew.example.test/oauth/callback",
    "WALMART_CREDENTIALS_SECRET": "walmart-client",
    "TOKEN_KEY_ID": "key-id",
    "EVENT_BUS_NAME": "bus",
    "EMAIL_SENDER": "renewals@example.test",
}


def test_settings_load_complete_environment():
    settings = load_settings(COMPLETE_ENVIRONMENT)

    assert settings.accounts_table == "accounts"
    assert settings.magic_link_ttl_days == 7
    assert settings.reminder_cadence_days == (0, 3, 7, 14)
    assert settings.uses_https is True


def test_settings_missing_variable_named():
    # Given an environment without the accounts table
    environment = {name: value for name, value in COMPLETE_ENVIRONMENT.items() if name != "ACCOUNTS_TABLE"}

    # When / Then the error names exactly that variable
    with pytest.raises(SettingsError, match="ACCOUNTS_TABLE is missing"):
        load_settings(environment)


def test_settings_invalid_url_named():
    environment = {**COMPLETE_ENVIRONMENT, "PUBLIC_BASE_URL": "renew.example.test"}

    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL is invalid"):
        load_settings(environment)


def test_settings_invalid_number_named():
    environment = {**COMPLETE_ENVIRONMENT, "MAGIC_LINK_TTL_DAYS": "0"}

    with pytest.raises(SettingsError, match="MAGIC_LINK_TTL_DAYS is invalid"):
        load_settings(environment)


def test_settings_cadence_parsed_from_text():
    settings = load_settings({**COMPLETE_ENVIRONMENT, "REMINDER_CADENCE_DAYS": "0, 2,5"})

    assert settings.reminder_cadence_days == (0, 2, 5)


@pytest.mark.parametrize("cadence", ["", "3,1", "a,b", "1,1"])
def test_settings_cadence_invalid_named(cadence):
    with pytest.raises(SettingsError, match="REMINDER_CADENCE_DAYS is invalid"):
        load_settings({**COMPLETE_ENVIRONMENT, "REMINDER_CADENCE_DAYS": cadence})


def test_settings_keep_redirect_uri_exact():
    # Walmart compares the redirect URI character by character, so no normalisation may happen.
    settings = load_settings(
        {**COMPLETE_ENVIRONMENT, "WALMART_REDIRECT_URI": "https://renew.example.test/oauth/callback"}
    )

    assert settings.walmart_redirect_uri == "https://renew.example.test/oauth/callback"


def test_settings_public_url_joins_path():
    settings = load_settings({**COMPLETE_ENVIRONMENT, "PUBLIC_BASE_URL": "https://renew.example.test/"})

    assert settings.public_url("/r/abc") == "https://renew.example.test/r/abc"


def test_settings_http_base_is_not_https():
    settings = load_settings({**COMPLETE_ENVIRONMENT, "PUBLIC_BASE_URL": "http://127.0.0.1:3000"})

    assert settings.uses_https is False


def test_settings_reject_bad_sender():
    with pytest.raises(SettingsError, match="EMAIL_SENDER is invalid"):
        load_settings({**COMPLETE_ENVIRONMENT, "EMAIL_SENDER": "not-an-address"})


@pytest.mark.parametrize("name", sorted(COMPLETE_ENVIRONMENT))
def test_settings_each_variable_required(name):
    # Given an environment that lacks one variable which has no sensible default
    environment = {key: value for key, value in COMPLETE_ENVIRONMENT.items() if key != name}

    # When / Then the cold start fails and names it
    with pytest.raises(SettingsError, match=f"{name} is missing"):
        load_settings(environment)

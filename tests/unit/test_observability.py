import json

from renewals.observability import logger, mask_email, redact


def test_mask_email_keeps_first_character_and_domain():
    assert mask_email("jane.doe@example.com") == "j***@example.com"


def test_mask_email_inside_text():
    assert mask_email("sent to bob@shop.example.org today") == "sent to b***@shop.example.org today"


def test_redact_secret_keys_at_any_depth():
    value = {"outer": {"refresh_token": "r1", "items": [{"client_secret": "s"}]}, "account_id": "a1"}

    cleaned = redact(value)

    assert cleaned["outer"]["refresh_token"] == "[redacted]"
    assert cleaned["outer"]["items"][0]["client_secret"] == "[redacted]"
    assert cleaned["account_id"] == "a1"


def test_redact_keeps_safe_keys():
    assert redact({"status_code": 302})["status_code"] == 302


def test_logger_output_has_no_secret_or_address(log_output):
    # Given log calls carrying a code, a state, a token and an email address
    logger.info("callback for jane@example.com", code="c0de-value", state="st4te-value", account_id="acc-1")
    logger.info("stored", extra={"access_token": "t0ken-value"})

    # When the output is read
    output = log_output.getvalue()

    # Then none of the secrets or the full address appear, but the account id does
    assert "c0de-value" not in output
    assert "st4te-value" not in output
    assert "t0ken-value" not in output
    assert "jane@example.com" not in output
    assert "acc-1" in output
    assert all(json.loads(line) for line in output.splitlines())

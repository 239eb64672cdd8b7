import base64

from renewals.tokens import hash_token, new_token, token_matches


def test_new_token_has_256_bits():
    token = new_token()

    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(decoded) == 32


def test_new_token_differs_each_call():
    assert len({new_token() for _ in range(100)}) == 100


def test_hash_token_is_sha256_hex():
    digest = hash_token("abc")

    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_token_matches_only_its_hash():
    token = new_token()

    assert token_matches(token, hash_token(token))
    assert not token_matches(new_token(), hash_token(token))

"""Login codes and guest tokens: generation, keyed hashing, constant-time checking."""

import hashlib
import re

import pytest

from sms import code_for, code_matches, hash_code, hash_token, new_code, new_token
from sms import codes as codes_module

SECRET = b"test-secret-for-code-hashing"
PHONE = "+79123456789"


def test_a_new_code_is_six_digits():
    for _ in range(200):
        assert re.fullmatch(r"\d{6}", new_code())


def test_a_code_keeps_its_leading_zeros(monkeypatch):
    monkeypatch.setattr(codes_module.secrets, "randbelow", lambda upper: 4217)
    assert new_code() == "004217"


def test_codes_starting_with_zero_do_occur_and_every_digit_shows_up():
    sample = [new_code() for _ in range(2000)]
    # P(no leading zero in 2000 codes) = 0.9**2000, about 1e-92
    assert any(code.startswith("0") for code in sample)
    assert set("".join(sample)) == set("0123456789")
    assert len(set(sample)) > 1900


def test_the_number_of_digits_can_be_chosen_but_not_below_one():
    assert re.fullmatch(r"\d{8}", new_code(8))
    with pytest.raises(ValueError):
        new_code(0)


def test_the_right_code_for_the_right_phone_matches():
    stored = hash_code(SECRET, PHONE, "004217")
    assert code_matches(SECRET, PHONE, "004217", stored)


def test_a_wrong_code_does_not_match():
    stored = hash_code(SECRET, PHONE, "004217")
    assert not code_matches(SECRET, PHONE, "004218", stored)


def test_the_hash_binds_the_phone_so_it_cannot_serve_another_phone():
    stored = hash_code(SECRET, PHONE, "004217")
    assert hash_code(SECRET, "+79123456780", "004217") != stored
    assert not code_matches(SECRET, "+79123456780", "004217", stored)


def test_the_hash_depends_on_the_secret():
    stored = hash_code(SECRET, PHONE, "004217")
    assert hash_code(b"another-secret", PHONE, "004217") != stored
    assert not code_matches(b"another-secret", PHONE, "004217", stored)


def test_the_hash_is_hex_hmac_sha256_and_not_a_plain_hash_of_the_code():
    stored = hash_code(SECRET, PHONE, "004217")
    assert re.fullmatch(r"[0-9a-f]{64}", stored)
    assert stored != hashlib.sha256(f"{PHONE}|004217".encode()).hexdigest()


@pytest.mark.parametrize("secret", [b"", "a text secret", None])
def test_a_missing_or_textual_secret_is_a_programming_error(secret):
    with pytest.raises(ValueError):
        hash_code(secret, PHONE, "004217")


@pytest.mark.parametrize(
    "garbage",
    ["", "00421", "0042170", "abcdef", "00421x", " 04217", "٠٠٤٢١٧", None, 4217, b"004217"],
)
def test_a_malformed_code_returns_false_instead_of_raising(garbage):
    stored = hash_code(SECRET, PHONE, "004217")
    assert code_matches(SECRET, PHONE, garbage, stored) is False


def test_a_malformed_code_still_goes_through_the_keyed_comparison(monkeypatch):
    calls = []
    original = codes_module.hmac.compare_digest
    monkeypatch.setattr(
        codes_module.hmac, "compare_digest", lambda a, b: calls.append(1) or original(a, b)
    )
    code_matches(SECRET, PHONE, "garbage", hash_code(SECRET, PHONE, "004217"))
    assert calls == [1]


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "ключ"])
def test_a_missing_or_corrupt_stored_hash_matches_nothing(stored):
    assert code_matches(SECRET, PHONE, "004217", stored) is False


def test_the_code_length_to_expect_can_be_given():
    stored = hash_code(SECRET, PHONE, "12345678")
    assert code_matches(SECRET, PHONE, "12345678", stored, digits=8)
    assert not code_matches(SECRET, PHONE, "12345678", stored)


def test_a_token_is_url_safe_and_carries_at_least_32_bytes_of_entropy():
    token = new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)
    assert len({new_token() for _ in range(100)}) == 100


def test_a_token_is_stored_as_its_sha256_hex():
    token = new_token()
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hash_token(token) != hash_token(new_token())


def test_a_code_for_one_purpose_is_the_same_every_time_and_differs_for_another():
    made = code_for(SECRET, "registration", "7", "key-1", "+79123456789")
    assert made == code_for(SECRET, "registration", "7", "key-1", "+79123456789")
    assert re.fullmatch(r"\d{6}", made)
    others = {code_for(SECRET, "registration", "7", f"key-{n}", "+79123456789")
              for n in range(2, 40)}  # fmt: skip
    assert len(others) > 30  # spread over the codes, not a constant
    elsewhere = {code_for(b"another secret", "registration", "7", f"key-{n}", "+79123456789")
                 for n in range(2, 40)}  # fmt: skip
    assert elsewhere != others  # unpredictable without the secret
    assert made != code_for(SECRET, "login", "7", "key-1", "+79123456789")  # another purpose
    with pytest.raises(ValueError):
        code_for(b"", "registration", "x")

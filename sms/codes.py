"""One-time SMS codes and guest tokens: how they are made, stored (hashed) and checked."""

import hashlib
import hmac
import secrets

CODE_DIGITS = 6


def new_code(digits: int = CODE_DIGITS) -> str:
    """A uniformly random numeric code; leading zeros are kept ("004217")."""
    if digits < 1:
        raise ValueError("a code needs at least one digit")
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_for(secret: bytes, purpose: str, *parts: str, digits: int = CODE_DIGITS) -> str:
    """A code made from what it is for, the same every time: a retry of one request texts
    the code its first try texted, so a guest who gets both messages holds one valid code.
    Unpredictable without `secret`, like the hash (a domain of its own keeps them apart)."""
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("the code secret must be non-empty bytes")
    message = "\x00".join(("code", purpose, *parts)).encode()
    number = int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest()[:8], "big")
    return f"{number % 10**digits:0{digits}d}"


def hash_code(secret: bytes, phone: str, code: str) -> str:
    """HMAC-SHA256 hex of the code bound to its phone, so a stored hash is useless elsewhere.

    A keyed hash, not a plain one: a 6-digit code has only a million values, so anyone holding
    the database could otherwise try them all; without `secret` they cannot.
    """
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("the code secret must be non-empty bytes")
    # "|" appears in neither an E.164 phone nor a code, so (phone, code) pairs cannot collide.
    message = f"{phone}|{code}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def code_matches(
    secret: bytes, phone: str, code: object, stored_hash: object, *, digits: int = CODE_DIGITS
) -> bool:
    """Whether `code` is the one whose hash was stored for `phone`, compared in constant time.

    A malformed code (not a string, not digits, wrong length) is hashed all the same as a
    placeholder, so a garbage guess takes as long as a wrong one and simply returns False.
    """
    well_formed = (
        isinstance(code, str) and len(code) == digits and code.isascii() and code.isdigit()
    )
    candidate = hash_code(secret, phone, code if well_formed else "-" * digits)
    stored = stored_hash.encode() if isinstance(stored_hash, str) else b""
    equal = hmac.compare_digest(candidate.encode(), stored)
    return well_formed and equal


def new_token() -> str:
    """An opaque URL-safe guest token carrying 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token, the form a token is stored and looked up in.

    Unlike a code, a token has 256 random bits: it cannot be guessed from its hash, so a plain
    unkeyed hash is enough and keeps lookups a simple equality on an indexed column.
    """
    return hashlib.sha256(token.encode()).hexdigest()

"""Argon2id password hashing and the password rules."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from lms.auth.common_passwords import COMMON_PASSWORDS, normalise

# Argon2id with the OWASP Password Storage Cheat Sheet's parameters (19 MiB, 2 passes, one
# lane): about 25 ms of one core per sign-in here. The library's default (64 MiB, 3 passes,
# 4 lanes) took about 230 ms of CPU, so that signing in, not the pages, used most of the
# server at a few sign-ins per second (benchmarks/journey.py). Hashes made with other
# parameters verify and are rehashed at the next sign-in (``needs_rehash``).
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_LANES = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_LANES
)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that both cases take the same time.

    Made on first use rather than at import: every command and worker imports this module.
    """
    return _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an account without a password never matches."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, min_length: int, email: str | None = None) -> str | None:
    """Why ``password`` is not acceptable, or None.

    Every place that sets a password checks it here: changing one's own, an administrator
    creating an account or setting a password, and the ``lms users`` commands.
    """
    if len(password) < min_length:
        return _("Use at least %(n)d characters.", n=min_length)
    if len(set(password)) < 4:
        return _("Use more varied characters.")
    if email:
        address = normalise(email)
        if normalise(password) in {address, address.split("@")[0]}:
            return _("Do not use your email address as your password.")
    if normalise(password) in COMMON_PASSWORDS:
        return _("This password is one of the most common; choose another.")
    return None

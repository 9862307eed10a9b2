"""The key that signs Open Badges: RSA 2048 (RS256), never stored in the database.

The key is the PEM in the ``BADGE_SIGNING_KEY`` setting (``LMS_BADGE_SIGNING_KEY``: the same
on every machine in production), or else generated on first use into
``instance/badge_signing_key.pem`` (mode 0600). Its ``kid`` is the RFC 7638 JWK thumbprint, so
it stays the same for as long as the key does. Verifiers fetch the public half from the JWKS.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from joserfc.jwk import RSAKey

ALGORITHM = "RS256"
KEY_SIZE = 2048
KEY_FILE = "badge_signing_key.pem"
_CACHE = "lms_badge_signing_keys"


def key_path() -> Path:
    """Where the generated key lives when none is configured."""
    return Path(current_app.instance_path) / KEY_FILE


def signing_key() -> RSAKey:
    """The private key, read (or generated) once per process and source."""
    configured = current_app.config.get("BADGE_SIGNING_KEY")
    source = configured or str(key_path())
    cache: dict[str, RSAKey] = current_app.extensions.setdefault(_CACHE, {})
    key = cache.get(source)
    if key is None:
        pem = configured.encode() if configured else _instance_pem(key_path())
        key = _import(pem)
        cache[source] = key
    return key


def kid() -> str:
    """The key id: the base64url SHA-256 JWK thumbprint of the public key."""
    return signing_key().thumbprint()


def public_jwk() -> dict[str, Any]:
    """The public key as a JWK with its ``kid``, use and algorithm."""
    key = signing_key()
    return {**key.as_dict(private=False), "kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}


def jwks() -> dict[str, Any]:
    """The JSON Web Key Set published at ``/api/v1/issuer/jwks.json``."""
    return {"keys": [public_jwk()]}


def _import(pem: bytes) -> RSAKey:
    key = RSAKey.import_key(pem)
    if not key.is_private:
        raise RuntimeError("BADGE_SIGNING_KEY must be an RSA private key (PEM)")
    size = key.private_key.key_size  # type: ignore[union-attr]
    if size < KEY_SIZE:
        raise RuntimeError(f"the badge signing key has {size} bits; at least {KEY_SIZE} needed")
    return key


def _instance_pem(path: Path) -> bytes:
    """Read the instance key, generating it first if it does not exist yet.

    The new key is written to a private temporary file and linked into place, which fails if
    another process got there first: every process then reads the one key that won.
    """
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = RSAKey.generate_key(KEY_SIZE, private=True).as_pem(private=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".badge_key-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes()
    finally:
        os.unlink(tmp)
    return pem

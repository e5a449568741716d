"""Secret tokens: ``<prefix>_<id>.<secret>``, the secret random (256 bits), only its SHA-256 stored.

The id finds the stored row; the secret is compared with ``hmac.compare_digest``
(constant time). A token whose id names nothing is compared against a dummy
hash, so that an unknown id and a wrong secret take the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

SECRET_BYTES = 32
ID_BYTES = 8
_DUMMY_HASH = hashlib.sha256(b"no such token").digest()


@dataclass(frozen=True, slots=True)
class SecretToken:
    """A token as the client holds it (``text``) and as the store keeps it (``id``, ``secret_hash``)."""

    prefix: str
    id: str
    secret: str

    @property
    def text(self) -> str:
        return f"{self.prefix}_{self.id}.{self.secret}"

    @property
    def secret_hash(self) -> bytes:
        return digest(self.secret)


def new_token(prefix: str) -> SecretToken:
    return SecretToken(prefix, secrets.token_hex(ID_BYTES), secrets.token_urlsafe(SECRET_BYTES))


def parse_token(text: str, prefix: str) -> SecretToken | None:
    """The token's parts, or None when ``text`` is not a token of this kind."""
    head, dot, secret = text.partition(".")
    if not dot or not head.startswith(prefix + "_") or not secret or len(text) > 200:
        return None
    token_id = head[len(prefix) + 1 :]
    if not token_id.isascii() or not token_id.isalnum():
        return None
    return SecretToken(prefix, token_id, secret)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


def secret_matches(token: SecretToken, stored_hash: bytes | None) -> bool:
    """Whether the token's secret hashes to ``stored_hash``, in constant time (also when there is none)."""
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(token.secret_hash, expected) and stored_hash is not None


def sign(key: bytes, message: str) -> str:
    """An HMAC-SHA256 of ``message`` under ``key``, URL-safe (a calendar feed's token)."""
    return hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def signature_matches(key: bytes, message: str, presented: str) -> bool:
    return hmac.compare_digest(sign(key, message).encode(), presented.encode("utf-8", "surrogatepass"))

"""Key authentication: ``Authorization: Bearer <key>`` against a primary and a secondary key.

The keys live in a JSON file, ``{"primaryKey": "...", "secondaryKey": "..."}``, named by
``DOCKYARD_KEYS_FILE`` (or ``--keys-file``); the deployment target writes it readable only by the
server's user. The file is re-read when its modification time or size changes (checked at most
every 0.2 s), so ``service.regen_key()`` takes effect without a restart. Both keys are compared
in constant time. A file that becomes unreadable or invalid keeps the last good keys and is
logged. Liveness, readiness and ``/swagger.json`` stay open; ``/score`` needs a key.

Token auth (Azure's ``token_auth_enabled``, cluster services): the server then accepts no key,
only ``Bearer <token>`` where the token is ``<payload>.<signature>`` (both base64url): the payload
is JSON ``{"svc": <service name>, "exp": <expiry, epoch seconds>}`` and the signature its
HMAC-SHA256 under one of the service's keys (:func:`make_token`; ``service.get_access_token()``
makes them). A token is refused after its expiry, for another service, or once the key that
signed it has been regenerated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import time

logger = logging.getLogger("dockyard.server.auth")

CHECK_INTERVAL_S = 0.2


class KeyFileError(ValueError):
    """The keys file cannot be used; the message says why and what to write there."""


def read_keys(path: str) -> tuple[bytes, ...]:
    """The non-empty keys in ``path``; raises :class:`KeyFileError`."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise KeyFileError(f"cannot read the keys file {path}: {exc}") from None
    except ValueError as exc:
        raise KeyFileError(
            f'the keys file {path} is not JSON ({exc}); write {{"primaryKey": "...", "secondaryKey": "..."}}'
        ) from None
    if not isinstance(data, dict):
        raise KeyFileError(
            f'the keys file {path} must hold {{"primaryKey": "...", "secondaryKey": "..."}}'
        )
    keys = tuple(
        str(data[name]).encode()
        for name in ("primaryKey", "secondaryKey")
        if isinstance(data.get(name), str) and data[name]
    )
    if not keys:
        raise KeyFileError(f"the keys file {path} has no non-empty primaryKey or secondaryKey")
    return keys


def make_token(key: str, service: str, expiry: int) -> str:
    """A token for ``service`` valid until ``expiry`` (epoch seconds), signed with ``key``."""
    payload = _b64(json.dumps({"svc": service, "exp": int(expiry)}, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_sign(key.encode(), payload.encode()))}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


class KeyAuth:
    """Checks ``Authorization`` header values against the keys file, following rotations.

    With ``token_service`` set, it accepts tokens for that service instead of keys (see the
    module docstring)."""

    def __init__(self, path: str, token_service: str | None = None) -> None:
        self.path = path
        self.token_service = token_service
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        self._keys: tuple[bytes, ...] = ()
        self._reload(force=True)
        if not self._keys:
            raise KeyFileError(f"key auth is on but no key could be read from {path}")

    def _reload(self, force: bool = False) -> None:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            if force:
                raise KeyFileError(f"cannot read the keys file {self.path}: {exc}") from None
            logger.warning(
                "The keys file %s is gone (%s); keeping the last keys read", self.path, exc
            )
            self._stamp = None
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp and not force:
            return
        try:
            keys = read_keys(self.path)
        except KeyFileError as exc:
            if force:
                raise
            logger.error("%s; keeping the last keys read", exc)
            self._stamp = stamp
            return
        if self._keys and keys != self._keys:
            logger.info("Keys reloaded from %s", self.path)
        self._keys = keys
        self._stamp = stamp

    def check(self, authorization: bytes | None) -> bool:
        """True when ``authorization`` is ``Bearer <a current key>``."""
        now = time.monotonic()
        if now - self._checked >= CHECK_INTERVAL_S:
            self._checked = now
            self._reload()
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        token = token.strip()
        if self.token_service is not None:
            return self._check_token(token)
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(token, key)
        return ok

    def _check_token(self, token: bytes) -> bool:
        payload, _, signature = token.partition(b".")
        if not payload or not signature:
            return False
        ok = False
        for key in self._keys:
            ok |= hmac.compare_digest(signature, _b64(_sign(key, payload)).encode())
        if not ok:
            return False
        try:
            claims = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        except ValueError:
            return False
        return (
            isinstance(claims, dict)
            and claims.get("svc") == self.token_service
            and isinstance(claims.get("exp"), int)
            and claims["exp"] > time.time()
        )

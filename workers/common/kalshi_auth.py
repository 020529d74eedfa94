"""Kalshi request signing (kalshi-api.md §2), shared by ingest and the executor.

RSA-PSS over SHA-256 with MGF1(SHA-256) and salt length = digest length; the signed string is the
millisecond timestamp + upper-case METHOD + the URL path from /trade-api/v2 without the query. The key
is loaded from the file named by MILKBOT_KALSHI_KEY_FILE and lives only in this object: it is never
logged, printed, stored or put in an exception (repr hides it).
"""
from __future__ import annotations

import base64
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class CredentialsError(RuntimeError):
    pass


class KalshiSigner:
    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey):
        if not key_id:
            raise CredentialsError("MILKBOT_KALSHI_KEY_ID is empty")
        self.key_id = key_id
        self._key = private_key

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id[:4]}…)"

    @classmethod
    def from_file(cls, key_id: str, key_file: str | Path) -> "KalshiSigner":
        path = Path(key_file)
        if not path.is_file():
            raise CredentialsError(f"Kalshi key file not found: {path}")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise CredentialsError(f"Kalshi key file {path} is not an unencrypted PEM private key") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CredentialsError(f"Kalshi key file {path} is not an RSA key")
        return cls(key_id, key)

    def sign(self, timestamp_ms: str, method: str, path: str) -> str:
        message = f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()
        signature = self._key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                        salt_length=padding.PSS.DIGEST_LENGTH), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def headers(self, method: str, path: str, now_ms: int | None = None) -> dict[str, str]:
        ts = str(now_ms if now_ms is not None else int(time.time() * 1000))
        return {"KALSHI-ACCESS-KEY": self.key_id, "KALSHI-ACCESS-TIMESTAMP": ts,
                "KALSHI-ACCESS-SIGNATURE": self.sign(ts, method, path)}


def verify(public_key: rsa.RSAPublicKey, signature_b64: str, timestamp_ms: str, method: str, path: str) -> bool:
    """What the exchange does (used by the fake exchange)."""
    from cryptography.exceptions import InvalidSignature
    try:
        public_key.verify(base64.b64decode(signature_b64),
                          f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode(),
                          padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                          hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False

"""Service accounts for tests: an RSA key made here, a key file like Google's, JWT checks."""

from __future__ import annotations

import base64
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


class TokenError(Exception):
    """An OAuth error reply: `error` and `error_description`."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


@functools.lru_cache(maxsize=8)
def _private_key(seed: str) -> rsa.RSAPrivateKey:
    """One RSA key per name and process: making keys is the slow part of a test."""
    del seed
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class ServiceAccount:
    email: str
    project_id: str
    key_id: str
    private_key: rsa.RSAPrivateKey

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()

    def private_key_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def key_file_info(self, token_uri: str) -> dict[str, Any]:
        """What Google's console downloads as the JSON key, with our token endpoint."""
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.key_id,
            "private_key": self.private_key_pem(),
            "client_email": self.email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + self.email.replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def write_key_file(self, path: Path, token_uri: str) -> Path:
        path.write_text(json.dumps(self.key_file_info(token_uri), indent=2), encoding="utf-8")
        os.chmod(path, 0o600)
        return path


def service_account(
    email: str = "diplomates-sync@cuf-diplomates.iam.gserviceaccount.com",
    project_id: str = "cuf-diplomates",
) -> ServiceAccount:
    return ServiceAccount(
        email, project_id, "0123456789abcdef" + str(len(email)), _private_key(email)
    )


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_assertion(
    assertion: str, accounts: dict[str, ServiceAccount], audience: str, now: float
) -> dict[str, Any]:
    """Check a service account's signed JWT as Google's token endpoint does; return its claims."""
    try:
        header_part, payload_part, signature_part = assertion.split(".")
        header = json.loads(_b64decode(header_part))
        claims = json.loads(_b64decode(payload_part))
        signature = _b64decode(signature_part)
    except ValueError:
        raise TokenError("invalid_grant", "Invalid JWT: the assertion is not a JWT.") from None
    if header.get("alg") != "RS256":
        raise TokenError("invalid_grant", "Invalid JWT: unsupported algorithm.")
    account = accounts.get(str(claims.get("iss")))
    if account is None:
        raise TokenError("invalid_grant", "Invalid grant: account not found")
    try:
        account.public_key.verify(
            signature,
            f"{header_part}.{payload_part}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
    issued, expires = claims.get("iat", 0), claims.get("exp", 0)
    if not (issued - 300 <= now <= expires + 300) or expires - issued > 3600:
        raise TokenError(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim.",
        )
    # google-auth signs for Google's own token endpoint whatever the key file's token_uri says.
    if claims.get("aud") not in (audience, GOOGLE_TOKEN_AUDIENCE):
        raise TokenError("invalid_grant", "Invalid JWT: audience is not the token endpoint.")
    return dict(claims)

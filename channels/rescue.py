"""A rotated credential kept safe until the database holds it.

Mercado Livre's refresh token is single-use: once the vendor has answered a refresh, the old
token is dead and the new one is the only way back to the seller's account. Between that
answer and the commit that stores it, anything can fail (the database, the worker). So the
new values are first written here — one file per refresh, encrypted with the credentials' own
Fernet keys (FERNET_KEYS), readable by the workers only — and the file is removed once the
database holds them. When storing failed, the file stays: `manage.py
restore_rescued_credentials` writes it back (docs/security.md). Values never reach a log.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.utils import timezone

from channels.models import Credential, SalesChannel

logger = logging.getLogger("channels.rescue")

SUFFIX = ".rescued"


def rescue_dir() -> Path:
    return Path(settings.CREDENTIAL_RESCUE_DIR)


def _fernet():
    # The encrypted column's own keys (newest first; older ones still decrypt).
    return Credential._meta.get_field("value").fernet


def rescue_write(*, channel: SalesChannel, values: dict[str, str]) -> Path:
    """Write `values` (a channel's new credentials) encrypted to a new file; return its path.
    Raises OSError when the directory cannot be written."""
    directory = rescue_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    at = timezone.now()
    document = {
        "channel": channel.pk,
        "connector": channel.connector,
        "at": at.isoformat(),
        "values": {name: str(value) for name, value in values.items() if value},
    }
    token = _fernet().encrypt(json.dumps(document).encode())
    path = directory / f"channel-{channel.pk}-{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}{SUFFIX}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(token)
        handle.flush()
        os.fsync(handle.fileno())
    return path


@dataclass
class Rescued:
    path: Path
    channel_id: int
    connector: str
    at: datetime
    values: dict[str, str]


def rescue_read(path: Path) -> Rescued:
    """Decrypt one rescue file. Raises ValueError when it cannot be read with the configured
    keys or is not a rescue document."""
    try:
        document = json.loads(_fernet().decrypt(path.read_bytes()))
        return Rescued(
            path=path,
            channel_id=int(document["channel"]),
            connector=str(document["connector"]),
            at=datetime.fromisoformat(document["at"]),
            values={str(k): str(v) for k, v in dict(document["values"]).items()},
        )
    except InvalidToken:
        raise ValueError(
            f"{path.name}: cannot be decrypted with the configured FERNET_KEYS"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problem = type(exc).__name__
        raise ValueError(f"{path.name}: not a readable rescue file ({problem})") from None


def rescue_files() -> list[Path]:
    directory = rescue_dir()
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"*{SUFFIX}"))


def rescue_discard(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        logger.exception("Could not remove the credential rescue file %s", path.name)

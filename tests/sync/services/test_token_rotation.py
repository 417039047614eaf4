"""A single-use refresh token the vendor rotated is never lost (Mercado Livre).

Once the vendor answered a refresh, the old token is spent: the new one must reach the
database whatever it holds, and when the database refuses it, it must be recoverable.
"""

import logging

import pytest
from django.core.management import call_command
from django.db import DatabaseError

from channels.models import Credential
from channels.rescue import rescue_files
from channels.services import channel_credentials
from sync.services.connectors import build_connector
from tests.factories import make_channel, make_company
from vendors.errors import ConnectorError


@pytest.fixture
def rescue_dir(settings, tmp_path):
    settings.CREDENTIAL_RESCUE_DIR = tmp_path / "rescue"
    return settings.CREDENTIAL_RESCUE_DIR


def ml_channel(ml, **kwargs):
    return make_channel(
        connector="mercadolivre",
        credentials=ml.credentials,
        api_base_url=ml.url,
        environment="sandbox",
        **kwargs,
    )


def refresh_works_again(channel, ml) -> None:
    """The stored refresh token is the live one: a fresh connector refreshes with it."""
    ml.expire_access_tokens()
    channel.refresh_from_db()
    assert build_connector(channel).verify() == ml.seller_id


@pytest.mark.django_db
def test_a_rotated_token_is_stored_even_when_another_channel_claims_the_same_value(
    emulator, rescue_dir
):
    ml = emulator("mercadolivre")
    channel = ml_channel(ml)
    # A stale copy of the channel (duplicated by hand in another company) happens to hold the
    # value the vendor issues next. The rotation must not run the uniqueness check that a
    # person's input gets: refusing the new token now would lock the channel out for good.
    upcoming = f"TG-demo-refresh-2-{ml.seller_id}"
    make_channel(
        company=make_company(),
        connector="mercadolivre",
        credentials={**ml.credentials, "refresh_token": upcoming},
        environment="sandbox",
        api_base_url=ml.url,
    )

    assert build_connector(channel).verify() == ml.seller_id  # refreshes once

    assert ml.refresh_token == upcoming
    assert channel_credentials(channel=channel)["refresh_token"] == ml.refresh_token
    refresh_works_again(channel, ml)


@pytest.mark.django_db
def test_a_token_the_database_refused_is_kept_encrypted_and_restored(
    emulator, rescue_dir, monkeypatch, caplog
):
    ml = emulator("mercadolivre")
    channel = ml_channel(ml)
    spent = ml.refresh_token

    def refuse(self, *args, **kwargs):
        raise DatabaseError("disk I/O error")

    with monkeypatch.context() as patched:
        patched.setattr(Credential, "save", refuse)
        with caplog.at_level(logging.WARNING), pytest.raises(ConnectorError) as refused:
            build_connector(channel).verify()

    assert ml.refresh_token != spent  # the vendor answered: the stored token is spent
    assert "restore_rescued_credentials" in str(refused.value)
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    [kept] = rescue_files()
    # Encrypted, and no secret anywhere in the logs or the error.
    for secret in ml.secrets():
        assert secret.encode() not in kept.read_bytes()
        assert secret not in caplog.text
        assert secret not in str(refused.value)

    call_command("restore_rescued_credentials")

    assert channel_credentials(channel=channel)["refresh_token"] == ml.refresh_token
    assert rescue_files() == []
    refresh_works_again(channel, ml)


@pytest.mark.django_db(transaction=True)
def test_the_rescue_file_is_removed_once_the_token_is_committed(emulator, rescue_dir):
    ml = emulator("mercadolivre")
    channel = ml_channel(ml)
    build_connector(channel).verify()
    assert channel_credentials(channel=channel)["refresh_token"] == ml.refresh_token
    assert rescue_files() == []


@pytest.mark.django_db
def test_an_older_rescue_file_never_overwrites_newer_stored_credentials(
    emulator, rescue_dir, monkeypatch
):
    ml = emulator("mercadolivre")
    channel = ml_channel(ml)
    with monkeypatch.context() as patched:
        patched.setattr(
            Credential, "save", lambda self, *a, **k: (_ for _ in ()).throw(DatabaseError("x"))
        )
        with pytest.raises(ConnectorError):
            build_connector(channel).verify()
    # Support re-authorized the seller meanwhile: what they typed is newer than the file.
    ml.refresh_token = "TG-typed-by-support"
    ml.issued_tokens.add(ml.refresh_token)
    from channels.services import channel_set_credentials

    channel_set_credentials(channel=channel, values={"refresh_token": ml.refresh_token})

    call_command("restore_rescued_credentials")

    assert channel_credentials(channel=channel)["refresh_token"] == "TG-typed-by-support"
    assert len(rescue_files()) == 1  # kept for a person to look at (--force writes it)

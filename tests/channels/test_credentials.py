import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from channels.models import Credential
from channels.services import channel_credentials, channel_set_credentials
from tests.factories import make_channel, make_company
from tests.helpers import reset_fernet_caches

APP_TOKEN = "VTEX-APPTOKEN-unit-test-9f8e7d6c5b4a"
APP_KEY = "vtexappkey-loja-ABCDEF"


def vtex_credentials(**overrides):
    return {"account_name": "lojateste", "app_key": APP_KEY, "app_token": APP_TOKEN, **overrides}


def raw_values():
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM channels_credential")
        return [bytes(row[0]) for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_database_never_holds_the_secret_in_clear():
    channel = make_channel(connector="vtex", credentials=vtex_credentials())
    values = raw_values()
    assert len(values) == 3
    for raw in values:
        assert APP_TOKEN.encode() not in raw
        assert APP_KEY.encode() not in raw
    assert channel_credentials(channel=channel)["app_token"] == APP_TOKEN


@pytest.mark.django_db
def test_same_key_on_another_companys_channel_is_refused_with_a_clear_error():
    make_channel(connector="vtex", credentials=vtex_credentials())
    other = make_channel(company=make_company(), connector="vtex")
    with pytest.raises(ValidationError) as exc:
        channel_set_credentials(channel=other, values=vtex_credentials(app_key="another-key"))
    assert "belongs to another company's channel" in exc.value.message_dict["app_token"][0]
    assert Credential.objects.filter(channel=other).count() == 0  # nothing written


@pytest.mark.django_db
def test_same_key_twice_in_one_company_names_the_other_channel():
    first = make_channel(connector="vtex", credentials=vtex_credentials(), name="Loja A")
    second = make_channel(company=first.company, connector="vtex", name="Loja B")
    with pytest.raises(ValidationError) as exc:
        channel_set_credentials(channel=second, values={"app_key": APP_KEY})
    assert "already used by channel “Loja A”" in exc.value.message_dict["app_key"][0]


@pytest.mark.django_db
def test_non_unique_fields_may_repeat_and_blank_keeps_the_stored_value():
    a = make_channel(connector="vtex", credentials=vtex_credentials())
    b = make_channel(connector="vtex", credentials=vtex_credentials(app_key="k2", app_token="t2"))
    assert channel_credentials(channel=b)["account_name"] == "lojateste"
    channel_set_credentials(channel=a, values={"app_token": "", "account_name": "nova"})
    stored = channel_credentials(channel=a)
    assert stored["app_token"] == APP_TOKEN and stored["account_name"] == "nova"


@pytest.mark.django_db
def test_unknown_credential_field_is_refused():
    channel = make_channel(connector="vtex")
    with pytest.raises(ValidationError) as exc:
        channel_set_credentials(channel=channel, values={"password": "x"})
    assert "VTEX has no credential field named password" in str(exc.value)


@pytest.mark.django_db(transaction=True)
def test_rotation_re_encrypts_with_the_newest_key(settings):
    settings.FERNET_KEYS = ["key-one"]
    reset_fernet_caches()
    channel = make_channel(connector="vtex", credentials=vtex_credentials())
    before = raw_values()

    settings.FERNET_KEYS = ["key-two", "key-one"]
    reset_fernet_caches()
    assert channel_credentials(channel=channel)["app_token"] == APP_TOKEN  # old rows readable
    call_command("rotate_credentials_key", stdout=open("/dev/null", "w"))
    assert raw_values() != before

    settings.FERNET_KEYS = ["key-two"]
    reset_fernet_caches()
    assert channel_credentials(channel=channel)["app_token"] == APP_TOKEN
    # Fingerprints were recomputed with the new key: uniqueness still holds after rotation.
    other = make_channel(company=make_company(), connector="vtex")
    with pytest.raises(ValidationError):
        channel_set_credentials(channel=other, values={"app_token": APP_TOKEN})


@pytest.mark.django_db(transaction=True)
def test_uniqueness_holds_during_a_rotation_before_the_command_runs(settings):
    settings.FERNET_KEYS = ["key-one"]
    reset_fernet_caches()
    make_channel(connector="vtex", credentials=vtex_credentials())
    settings.FERNET_KEYS = ["key-two", "key-one"]
    reset_fernet_caches()
    other = make_channel(company=make_company(), connector="vtex")
    with pytest.raises(ValidationError):
        channel_set_credentials(channel=other, values={"app_token": APP_TOKEN})


@pytest.mark.django_db(transaction=True)
def test_rotation_stops_without_changes_when_a_row_cannot_be_decrypted(settings):
    settings.FERNET_KEYS = ["lost-key"]
    reset_fernet_caches()
    make_channel(connector="vtex", credentials=vtex_credentials())
    before = raw_values()
    settings.FERNET_KEYS = ["key-two"]
    reset_fernet_caches()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        call_command("rotate_credentials_key", stdout=open("/dev/null", "w"))
    assert "cannot be decrypted" in str(exc.value)
    assert APP_TOKEN not in str(exc.value)
    assert raw_values() == before

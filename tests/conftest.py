import pytest


@pytest.fixture(autouse=True)
def _english_unless_asked(settings):
    """The product speaks pt-BR by default (settings.LANGUAGE_CODE). Tests assert the English
    source strings unless they ask for Portuguese themselves (tests/test_translations.py, the
    browser test); a request's Accept-Language still selects its language."""
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_fernet_keys():
    """Encrypted fields cache their keys; drop the cache around every test so a test that
    overrides FERNET_KEYS does not leak into the next one."""
    from tests.helpers import reset_fernet_caches

    reset_fernet_caches()
    yield
    reset_fernet_caches()


@pytest.fixture
def emulator():
    """Start vendor emulators on free loopback ports: `emulator("anymarket", rate=50)`.
    Every emulator started is stopped at the end of the test."""
    from sandbox.registry import get_emulator_class

    started = []

    def start(vendor: str, **options):
        instance = get_emulator_class(vendor)(**options)
        instance.start("127.0.0.1", 0)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploaded files go to the test's own folder, never the repo's MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"

import pytest


@pytest.fixture(autouse=True)
def _fresh_fernet_keys():
    """Encrypted fields cache their keys; drop the cache around every test so a test that
    overrides FERNET_KEYS does not leak into the next one."""
    from tests.helpers import reset_fernet_caches

    reset_fernet_caches()
    yield
    reset_fernet_caches()

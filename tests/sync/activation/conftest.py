"""Fixtures shared by the activation tests: emulators at a rate that never throttles a test,
and a support user."""

import contextlib

import pytest
from django.contrib.auth.models import Group, User

from tests.sync.activation.builders import FAST
from vendors.registry import VENDORS
from vendors.testing import override_rate


@pytest.fixture(autouse=True)
def _fast_declared_rates():
    """The activation paces its calls at the vendor's declared rate (sync.services.limits),
    as runs do: declare the emulators' FAST rate so a preflight takes no real seconds (the
    pacing itself: tests/sync/test_activation_pacing.py)."""
    with contextlib.ExitStack() as stack:
        for key in VENDORS:
            stack.enter_context(override_rate(key, rate=FAST["rate"], burst=FAST["burst"]))
        yield


@pytest.fixture
def support_user(db):
    user = User.objects.create_user("support", password="pw-support-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    return user


@pytest.fixture
def ml(emulator):
    return emulator("mercadolivre", **FAST)


@pytest.fixture
def anymarket(emulator):
    return emulator("anymarket", **FAST)


@pytest.fixture
def vtex(emulator):
    return emulator("vtex", **FAST)

"""Fixtures shared by the activation tests: emulators at a rate that never throttles a test,
and a support user."""

import pytest
from django.contrib.auth.models import Group, User

from tests.sync.activation.builders import FAST


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

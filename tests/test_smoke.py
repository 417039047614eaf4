import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_is_a_real_file_per_process():
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        assert str(name).endswith(".sqlite3") and "memory" not in str(name)

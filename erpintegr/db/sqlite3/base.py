"""Django's SQLite backend, told the real parameter limit of the SQLite it runs on.

Django assumes SQLite's old compile-time default of 999 parameters per statement and splits
bulk_create/bulk_update into many statements, so the number of queries of a sync batch would
grow with its size. SQLite ≥ 3.32 allows 32,766; with that known, a page of orders or a push
batch is one INSERT/UPDATE whatever its size (within the vendors' batch limits).
"""

import sqlite3

from django.db.backends.sqlite3 import base, features

MODERN_SQLITE_PARAMS = 32766


class DatabaseFeatures(features.DatabaseFeatures):
    @property
    def max_query_params(self) -> int:
        if sqlite3.sqlite_version_info >= (3, 32, 0):
            return MODERN_SQLITE_PARAMS
        return 999


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

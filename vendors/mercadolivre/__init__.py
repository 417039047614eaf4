"""Mercado Livre (marketplace): `spec` (the declaration) and `adapter` (the API client)."""

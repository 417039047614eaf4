"""VTEX (platform): `spec` (the declaration) and `adapter` (the API client)."""

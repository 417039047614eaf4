"""ANYMARKET (integrator): `spec` (the declaration) and `adapter` (the API client)."""

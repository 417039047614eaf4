"""Loopback emulators of the vendors' APIs, written from the vendors' documentation.

Independent of `vendors/` and `erp/` on purpose: an emulator that imported the adapter's
constants would mirror its mistakes instead of catching them."""

"""Hooks other apps listen to. mappings sends; it never imports its listeners."""

from django.dispatch import Signal

# Sent after commit whenever a de-para row starts matching values it did not match before:
# a new row (by hand, inline, admin action or CSV import) or a row whose code/fallback
# changed. Keyword arguments: channel_id (int), kind (MappingKind value), mapping (the row).
# The sync engine listens to reprocess the channel's held orders.
mapping_created = Signal()

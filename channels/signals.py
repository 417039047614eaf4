"""What the channels app announces to the engine (which it must not import)."""

from django.dispatch import Signal

# A channel's status or sync settings changed (saved, activated, paused, suspended).
# kwargs: channel_id: int
channel_changed = Signal()

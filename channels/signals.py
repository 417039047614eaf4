"""What the channels app announces to the engine (which it must not import)."""

from django.dispatch import Signal

# A channel's status or sync settings changed (saved, activated, paused, suspended).
# kwargs: channel_id: int
channel_changed = Signal()

# A channel's notification URL (token and secret) changed: a vendor the integration
# registers itself with must be given the new one. kwargs: channel_id: int
notification_url_changed = Signal()

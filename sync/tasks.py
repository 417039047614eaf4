"""django-q2 tasks: thin — take ids, call one service."""

from sync.models import RunTrigger


def run_flow(channel_id: int, flow: str, trigger: str = RunTrigger.SCHEDULE):
    from sync.services.runs import run_flow as run

    result = run(channel_id=channel_id, flow=flow, trigger=trigger)
    return None if result is None else result.pk


def run_event_flow(channel_id: int, flow: str):
    """An event-driven run (sync.services.events): a notification or an ERP change."""
    from sync.services.events import event_run_execute
    from sync.services.runs import run_flow as run

    result = event_run_execute(channel_id=channel_id, flow=flow, run_flow=run)
    return None if result is None else result.pk


def reconcile_stock(channel_id: int):
    """The channel's stock reconciliation (sync.services.reconcile), as a run of the stock
    flow under the channel's lease."""
    from sync.services.runs import run_flow as run
    from vendors.spec import Flow

    result = run(channel_id=channel_id, flow=Flow.STOCK, trigger=RunTrigger.RECONCILE)
    return None if result is None else result.pk


def reprocess_held_orders(channel_id: int):
    from sync.services.orders import held_orders_reprocess

    return held_orders_reprocess(channel_id=channel_id)


def prune_sync_runs():
    from sync.services.retention import sync_runs_prune

    return sync_runs_prune()


def fail_dead_runs():
    from sync.services.retention import sync_runs_fail_dead

    return sync_runs_fail_dead()


def run_activation(run_id: int):
    """The activation support confirmed on a large store's page (activation_request)."""
    from sync.activation.activate import activation_confirm_execute

    run = activation_confirm_execute(run_id=run_id)
    return None if run is None else run.confirm_state


def run_preflight(run_id: int, language: str | None = None):
    from sync.activation.runs import preflight_run_execute

    run = preflight_run_execute(run_id=run_id, language=language)
    return None if run is None else run.state


def register_notifications(channel_id: int):
    """Register the channel's (new) notification URL at its vendor, where the vendor allows
    it (sync.activation.notification_setup)."""
    from channels.models import SalesChannel
    from sync.activation.notification_setup import notifications_register

    channel = SalesChannel.objects.filter(pk=channel_id).first()
    return None if channel is None else notifications_register(channel=channel)

"""The vendors' notifications in: `POST /notifications/<token>/`, one URL per channel.

A notification is never trusted: it only says "look at X". This view checks what it cheaply
can (the channel's unguessable token, the vendor's own authenticity where it has one, the
account the body names), stores a deduplicated hint and arms the channel's event run
(sync.services.events); the run re-reads X from the vendor with the stored credentials. No
vendor call and no order processing here: a few queries, an answer in milliseconds (Mercado
Livre wants it within 500 ms, VTEX within 5 s).

Answers: 200 for anything well-formed, even when ignored (an account or topic we do not
follow: Mercado Livre switches a topic off after failures); 400 malformed; 403 wrong secret;
404 unknown token; 405 not POST; 413 too large. The token is never logged: Django's request
logger is told these responses were logged already.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from channels.models import ChannelStatus, SalesChannel
from sync.models import NotificationHint
from sync.services.events import HINT_FLOW, event_run_request
from vendors.errors import InvalidVendorData
from vendors.registry import get_notification_module, get_spec
from vendors.spec import Capability

logger = logging.getLogger("sync.notifications")

MAX_BODY_BYTES = 64 * 1024


def _answer(status: int, outcome: str, detail: str = "") -> JsonResponse:
    body = {"outcome": outcome}
    if detail:
        body["detail"] = detail
    response = JsonResponse(body, status=status)
    # django.request would log 4xx responses with the path, which holds the token.
    response._has_been_logged = True
    return response


@csrf_exempt
def notification_receive(request: HttpRequest, token: str) -> JsonResponse:
    if request.method != "POST":
        # Not require_POST: Django's 405 logging would write the path (the token).
        response = _answer(405, "method_not_allowed")
        response["Allow"] = "POST"
        return response
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _answer(413, "too_large")
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return _answer(413, "too_large")
    # One indexed lookup whatever the token; nothing else is done for an unknown one.
    channel = (
        SalesChannel.objects.filter(notification_token=token)
        .only("pk", "connector", "status", "external_account_id", "notification_secret")
        .first()
    )
    if channel is None or Capability.NOTIFICATIONS not in get_spec(channel.connector).capabilities:
        return _answer(404, "unknown")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _answer(400, "malformed", "The body is not JSON.")
    module = get_notification_module(channel.connector)
    try:
        hint = module.parse_notification(request.headers, body)
    except InvalidVendorData as exc:
        logger.info("Channel %s: malformed notification: %s", channel.pk, exc)
        return _answer(400, "malformed", str(exc))
    if hint is None:  # a ping, a topic or type we do not use
        return _answer(200, "ignored")
    secret_header = getattr(module, "SECRET_HEADER", "")
    if secret_header:
        given = request.headers.get(secret_header, "")
        if not hmac.compare_digest(given.encode(), channel.notification_secret.encode()):
            logger.warning("Channel %s: notification with a wrong secret refused", channel.pk)
            return _answer(403, "forbidden")
    if channel.external_account_id and hint.account != channel.external_account_id:
        logger.info("Channel %s: notification for another account ignored", channel.pk)
        return _answer(200, "ignored")
    if hint.application:
        application = (
            channel.credentials.filter(name="client_id").values_list("value", flat=True).first()
        )
        if application and application.strip() != hint.application:
            logger.info("Channel %s: notification for another application ignored", channel.pk)
            return _answer(200, "ignored")
    if channel.status != ChannelStatus.ACTIVE:
        return _answer(200, "ignored")
    # A replay (or a flood) of an unprocessed hint hits the partial unique constraint: nothing.
    NotificationHint.objects.bulk_create(
        [NotificationHint(channel_id=channel.pk, kind=hint.kind, resource=hint.resource)],
        ignore_conflicts=True,
    )
    flow = HINT_FLOW.get(hint.kind)
    if flow is not None:
        event_run_request(channel_ids=[channel.pk], flow=flow)
    return _answer(200, "stored")

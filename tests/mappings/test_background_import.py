"""De-para files above DE_PARA_IMPORT_SYNC_ROWS are imported by a worker, not in the request.

The request stores the file and queues a django-q2 task (ORM broker: the task is read back
from the queue and run as the worker would); the worker imports it through the same resource
and options as the admin's own two-step import, so a file gives the same rows, or the same
errors, either way.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from mappings.imports import import_result_errors, mapping_import_queue
from mappings.models import (
    MappingImport,
    MappingImportStatus,
    MappingKind,
    PaymentMethodMapping,
)
from mappings.services import mapping_create
from mappings.tasks import resume_mapping_imports, run_mapping_import
from tests.factories import make_channel, make_member
from tests.mappings.test_import_export import _confirm, _format_index, _upload, _url

pytestmark = pytest.mark.django_db

HEADER = "code,label,anything_else,erp_payment_method\n"


def good_rows(count: int) -> str:
    # Cycles through the company's methods, in the spellings a user types.
    names = ["Pix", "boleto", " Cartão de crédito "]
    return "".join(f"code-{i},Method {i},,{names[i % 3]}\n" for i in range(count))


def payment_rows(channel) -> list[tuple]:
    return sorted(
        (r.code, r.label, r.is_fallback, r.target.name)
        for r in PaymentMethodMapping.objects.filter(channel=channel).select_related("target")
    )


def queued_tasks() -> list[tuple]:
    return [(q.task["func"], tuple(q.task["args"])) for q in OrmQ.objects.all()]


def run_queued_tasks() -> list:
    """What a worker does with the queue (the task's function, its arguments)."""
    tasks = {"mappings.tasks.run_mapping_import": run_mapping_import}
    results = [tasks[func](*args) for func, args in queued_tasks()]
    OrmQ.objects.all().delete()
    return results


def test_a_large_file_is_queued_and_the_worker_imports_what_the_request_would(
    admin_client, channel, erp, settings, django_capture_on_commit_callbacks, hooks
):
    settings.DE_PARA_IMPORT_SYNC_ROWS = 5
    mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, code="CODE-1", target=erp.credit
    )
    csv = HEADER + good_rows(8) + ",,yes,Pix\n"
    form_page = admin_client.get(_url(PaymentMethodMapping, "import")).content.decode()
    assert "Files of up to 5 rows are previewed" in form_page

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_client, PaymentMethodMapping, channel, csv)

    record = MappingImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:mappings_mappingimport_change", args=[record.pk])
    # Stored and queued; nothing written in the request.
    assert (record.status, record.rows_total, record.kind) == ("queued", 9, "payment_method")
    assert (record.channel, record.user.username, record.file_name) == (
        channel,
        "admin",
        "de-para.csv",
    )
    assert bytes(record.content) == csv.encode()
    assert PaymentMethodMapping.objects.filter(channel=channel).count() == 1
    assert hooks == []
    assert queued_tasks() == [("mappings.tasks.run_mapping_import", (record.pk,))]
    page = admin_client.get(response["Location"])
    assert "imported in the background" in page.content.decode()
    assert '<meta http-equiv="refresh"' in page.content.decode()  # follows the worker

    with django_capture_on_commit_callbacks(execute=True):
        assert run_queued_tasks() == ["imported"]

    record.refresh_from_db()
    assert record.status == MappingImportStatus.IMPORTED
    assert (record.created_count, record.updated_count, record.refused_count) == (8, 1, 0)
    assert record.attempts == 1 and record.finished_at is not None
    assert len(hooks) == 8  # every new row announced, as in the request's import
    page = admin_client.get(reverse("admin:mappings_mappingimport_change", args=[record.pk]))
    html = page.content.decode()
    assert "Imported: 8 rows created, 1 updated." in html
    assert '<meta http-equiv="refresh"' not in html

    # The same file through the request's preview and confirmation, into another channel of
    # the company (with the same row to update): the same rows.
    settings.DE_PARA_IMPORT_SYNC_ROWS = 2_000
    twin = make_channel(erp.company, "mercadolivre", name="Twin")
    mapping_create(channel=twin, kind=MappingKind.PAYMENT_METHOD, code="CODE-1", target=erp.credit)
    preview = _upload(admin_client, PaymentMethodMapping, twin, csv)
    assert "confirm_form" in preview.context
    _confirm(admin_client, PaymentMethodMapping, preview)
    assert payment_rows(twin) == payment_rows(channel)
    assert len(payment_rows(channel)) == 9
    assert MappingImport.objects.count() == 1  # the small path stores nothing


def test_a_large_file_with_bad_rows_imports_nothing_and_lists_each_error(
    admin_client, channel, erp, other_erp, settings, django_capture_on_commit_callbacks
):
    csv = (
        HEADER
        + good_rows(6)
        + "code-1,again,,Pix\n"  # line 7: the code of line 2
        + "visa,Visa,,Dinheiro na entrega\n"  # line 8: no such ERP payment method here
        + "amex,Amex,maybe,Pix\n"  # line 9: not a yes/no
    )
    other_erp.company.payment_methods.create(name="Dinheiro na entrega", kind="cash")
    # What the request's preview says about this file.
    preview = _upload(admin_client, PaymentMethodMapping, channel, csv)
    expected = [(e.line, e.message) for e in import_result_errors(preview.context["result"])]
    assert [line for line, _ in expected] == [7, 8, 9]

    settings.DE_PARA_IMPORT_SYNC_ROWS = 3
    with django_capture_on_commit_callbacks(execute=True):
        _upload(admin_client, PaymentMethodMapping, channel, csv)
    assert run_queued_tasks() == ["refused"]

    record = MappingImport.objects.get()
    assert record.status == MappingImportStatus.REFUSED
    assert (record.created_count, record.updated_count, record.refused_count) == (0, 0, 3)
    assert [(e["line"], e["message"]) for e in record.errors] == expected
    assert not PaymentMethodMapping.objects.filter(channel=channel).exists()
    html = admin_client.get(
        reverse("admin:mappings_mappingimport_change", args=[record.pk])
    ).content.decode()
    assert "Nothing was imported: 3 of 9 rows have errors" in html
    assert "Line 2 already maps this code" in html
    assert "has no ERP payment method “Dinheiro na entrega”" in html
    assert "write “yes” or leave blank" in html


def test_an_unreadable_large_file_fails_with_a_message_not_a_traceback(
    admin_client, channel, settings, django_capture_on_commit_callbacks
):
    settings.DE_PARA_IMPORT_SYNC_ROWS = 0  # every file in a worker
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            _url(PaymentMethodMapping, "import"),
            {
                "channel": channel.pk,
                "format": _format_index(PaymentMethodMapping),
                "resource": "0",
                "import_file": SimpleUploadedFile("x.csv", b"\xff\xfe\x00garbage", "text/csv"),
            },
        )
    assert run_queued_tasks() == ["failed"]
    record = MappingImport.objects.get()
    assert record.message == "The file is not UTF-8 text: save it as CSV UTF-8 and send it again."
    html = admin_client.get(
        reverse("admin:mappings_mappingimport_change", args=[record.pk])
    ).content.decode()
    assert "Traceback" not in html and "site-packages" not in html and "/work/" not in html


def _staff(username: str, company, *perms: str) -> User:
    user = User.objects.create_user(username, password=f"pw-{username}-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    make_member(user, company)
    return user


def test_imports_are_company_scoped_and_seen_by_who_sees_that_de_para(
    client, channel, erp, other_erp, settings, django_capture_on_commit_callbacks
):
    importer = _staff(
        "importer",
        erp.company,
        "add_paymentmethodmapping",
        "change_paymentmethodmapping",
        "view_paymentmethodmapping",
    )
    settings.DE_PARA_IMPORT_SYNC_ROWS = 2
    client.force_login(importer)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, PaymentMethodMapping, channel, HEADER + good_rows(4))
    record = MappingImport.objects.get()
    page = client.get(response["Location"])
    assert page.status_code == 200  # no permission on imports themselves needed
    changelist = reverse("admin:mappings_mappingimport_changelist")
    assert list(client.get(changelist).context["cl"].result_list) == [record]

    outsider = _staff(
        "outsider", other_erp.company, "view_paymentmethodmapping", "view_mappingimport"
    )
    client.force_login(outsider)
    assert client.get(response["Location"]).status_code == 404
    assert list(client.get(changelist).context["cl"].result_list) == []

    # A colleague who sees only the order-status de-para does not see payment imports.
    colleague = _staff("colleague", erp.company, "view_orderstatusmapping")
    client.force_login(colleague)
    assert client.get(response["Location"]).status_code == 404
    assert list(client.get(changelist).context["cl"].result_list) == []


def test_a_task_delivered_twice_imports_once_and_lost_tasks_are_resumed(channel, erp):
    def queue() -> MappingImport:
        return mapping_import_queue(
            channel=channel,
            kind=MappingKind.PAYMENT_METHOD,
            user=None,
            file_name="x.csv",
            file_format="csv",
            content=(HEADER + good_rows(3)).encode(),
            rows=3,
        )

    first = queue()
    assert run_mapping_import(first.pk) == "imported"
    assert run_mapping_import(first.pk) is None  # delivered again: already done
    first.refresh_from_db()
    assert first.attempts == 1

    PaymentMethodMapping.objects.all().delete()
    long_ago = timezone.now() - timedelta(hours=1)
    lost = queue()  # its task never reached a worker
    MappingImport.objects.filter(pk=lost.pk).update(created_at=long_ago)
    dead = queue()  # its worker died midway (its transaction rolled back)
    MappingImport.objects.filter(pk=dead.pk).update(
        status=MappingImportStatus.RUNNING, started_at=long_ago, attempts=1
    )
    busy = queue()  # a worker has it right now
    MappingImport.objects.filter(pk=busy.pk).update(
        status=MappingImportStatus.RUNNING, started_at=timezone.now(), attempts=1
    )
    fresh = queue()  # its task is still waiting in the queue

    assert sorted(resume_mapping_imports()) == sorted([lost.pk, dead.pk])
    states = dict(MappingImport.objects.values_list("pk", "status"))
    assert states[lost.pk] == states[dead.pk] == MappingImportStatus.IMPORTED
    assert states[busy.pk] == MappingImportStatus.RUNNING
    assert states[fresh.pk] == MappingImportStatus.QUEUED
    assert MappingImport.objects.get(pk=dead.pk).attempts == 2
    assert resume_mapping_imports() == []


def test_queueing_a_file_costs_the_same_queries_whatever_its_size(
    admin_client, channel, settings, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DE_PARA_IMPORT_SYNC_ROWS = 3

    def queries(rows: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            with django_capture_on_commit_callbacks(execute=True):
                response = _upload(
                    admin_client, PaymentMethodMapping, channel, HEADER + good_rows(rows)
                )
        assert response.status_code == 302
        return len(ctx.captured_queries)

    assert queries(10) == queries(2_000)
    assert MappingImport.objects.count() == 2 and len(queued_tasks()) == 2
    assert not PaymentMethodMapping.objects.exists()

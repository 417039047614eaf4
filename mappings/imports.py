"""De-para files imported by a worker: those too large to preview inside a web request.

The admin's import page previews a file (a dry run) and imports it on confirmation, both
inside the request. A file of more than `DE_PARA_IMPORT_SYNC_ROWS` rows is instead stored as a
`MappingImport` (`mapping_import_queue`) and imported by the django-q2 task
`mappings.tasks.run_mapping_import` (`mapping_import_run`), through the same resource, with
the same arguments, so with the same validation: one bad row and nothing is written. The
outcome (rows created, updated, refused with their errors) is stored on the import, which the
admin shows.

A task whose worker died, or that the broker lost, never strands an import: the maintenance
task `mappings.tasks.resume_mapping_imports` (every few minutes) runs imports left queued or
running for longer than a task may take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from import_export.formats.base_formats import DEFAULT_FORMATS
from import_export.results import Result, RowResult

from channels.models import SalesChannel
from erpintegr.redaction import redact_truncate
from mappings.models import MappingImport, MappingImportStatus, mapping_model_for

logger = logging.getLogger("mappings.imports")

# How every de-para import runs, in the request or in a worker: in one transaction, rolled back
# entirely when any row is invalid.
IMPORT_DATA_OPTIONS = {"use_transactions": True, "rollback_on_validation_errors": True}
# The admin reads text files with this encoding (import-export's ImportMixin.from_encoding).
TEXT_ENCODING = "utf-8-sig"
MAX_STORED_ERRORS = 500
MAX_ERROR_CHARS = 1000
TASK = "mappings.tasks.run_mapping_import"


@dataclass(frozen=True)
class RowError:
    line: int | None  # the row's number in the file; None for an error about the whole file
    message: str


def import_result_errors(result: Result) -> list[RowError]:
    """Every error of an import, as the admin shows them: about the file, a row that failed,
    a row that did not validate (its columns named)."""
    errors = [RowError(None, str(error.error)) for error in result.base_errors]
    for line, row_errors in result.row_errors():
        errors += [RowError(line, str(error.error)) for error in row_errors]
    for row in result.invalid_rows:
        reasons = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in row.error_dict.items())
        errors.append(RowError(row.number, reasons))
    return errors


def runs_in_background(rows: int) -> bool:
    """Whether a file of `rows` data rows is imported by a worker rather than in the request
    (every file when the setting is 0)."""
    limit = settings.DE_PARA_IMPORT_SYNC_ROWS
    return limit == 0 or rows > limit


def import_formats() -> list:
    """The formats the admin's import page offers (import-export's defaults, or the setting)."""
    formats = getattr(settings, "IMPORT_FORMATS", DEFAULT_FORMATS)
    return [f for f in formats if f().can_import()]


def _format_named(title: str):
    for file_format in import_formats():
        if file_format().get_title() == title:
            return file_format
    return None


@transaction.atomic
def mapping_import_queue(
    *,
    channel: SalesChannel,
    kind: str,
    user,
    file_name: str,
    file_format: str,
    content: bytes,
    rows: int,
) -> MappingImport:
    """Store a de-para file for a worker to import and enqueue it once stored (committed)."""
    mapping_model_for(kind)  # an unknown kind raises ValueError
    if _format_named(file_format) is None:
        raise ValueError(f"Unknown import format {file_format!r}.")
    record = MappingImport.objects.create(
        channel=channel,
        kind=kind,
        user=user if getattr(user, "pk", None) else None,
        file_name=file_name[:255],
        file_format=file_format,
        content=content,
        rows_total=rows,
    )
    transaction.on_commit(lambda: _enqueue(record.pk))
    return record


def _enqueue(import_id: int) -> None:
    from django_q.tasks import async_task

    async_task(TASK, import_id, task_name=f"erpintegr:mapping-import:{import_id}")


def _stale_before():
    """A run older than this has outlived any task (django-q2's timeout): its worker died."""
    return timezone.now() - timedelta(seconds=settings.Q_CLUSTER.get("timeout", 600))


def _claim(import_id: int, *, queued_before=None) -> bool:
    """Take the import for this worker with one conditional UPDATE: a task delivered twice,
    or the maintenance task, finds it taken and leaves it."""
    queued = Q(status=MappingImportStatus.QUEUED)
    if queued_before is not None:
        queued &= Q(created_at__lt=queued_before)
    dead = Q(status=MappingImportStatus.RUNNING, started_at__lt=_stale_before())
    return bool(
        MappingImport.objects.filter(Q(pk=import_id) & (queued | dead)).update(
            status=MappingImportStatus.RUNNING,
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
    )


def mapping_import_run(*, import_id: int) -> MappingImport | None:
    """Import a stored file, unless another worker has it. None when there was nothing to do
    (gone, already done, or taken)."""
    if not _claim(import_id):
        return None
    return _run_claimed(import_id)


def _run_claimed(import_id: int) -> MappingImport:
    record = MappingImport.objects.select_related("channel__company", "user").get(pk=import_id)
    try:
        _import(record)
    except Exception as exc:  # recorded on the import for its page, never re-raised
        logger.exception("De-para import %s failed", record.pk)
        record.status = MappingImportStatus.FAILED
        record.created_count = record.updated_count = 0
        record.message = _("Unexpected error (%(error)s): nothing was imported.") % {
            "error": type(exc).__name__
        }
    record.finished_at = timezone.now()
    record.save()
    return record


def _import(record: MappingImport) -> None:
    from mappings.resources import RESOURCES

    dataset, problem = _dataset(record)
    if dataset is None:
        record.status = MappingImportStatus.FAILED
        record.message = problem
        return
    record.rows_total = len(dataset)
    resource = RESOURCES[mapping_model_for(record.kind)](channel=record.channel)
    result = resource.import_data(
        dataset,
        dry_run=False,
        raise_errors=False,
        file_name=record.file_name,
        user=record.user,
        **IMPORT_DATA_OPTIONS,
    )
    totals = result.totals
    errors = import_result_errors(result)
    if errors:
        record.status = MappingImportStatus.REFUSED
        record.created_count = record.updated_count = 0
        refused_lines = {e.line for e in errors if e.line is not None}
        record.refused_count = len(refused_lines)
        record.errors = [
            {"line": e.line, "message": redact_truncate(e.message, MAX_ERROR_CHARS)}
            for e in errors[:MAX_STORED_ERRORS]
        ]
        record.message = _(
            "Nothing was imported: %(refused)s of %(rows)s rows have errors. Fix them and send "
            "the file again."
        ) % {"refused": record.refused_count, "rows": record.rows_total}
        if len(errors) > MAX_STORED_ERRORS:
            record.message += " " + _(
                "Only the first %(shown)s of %(errors)s errors are listed."
            ) % {
                "shown": MAX_STORED_ERRORS,
                "errors": len(errors),
            }
        return
    record.status = MappingImportStatus.IMPORTED
    record.created_count = totals[RowResult.IMPORT_TYPE_NEW]
    record.updated_count = totals[RowResult.IMPORT_TYPE_UPDATE]
    record.refused_count = 0
    record.errors = []
    record.message = _("Imported: %(created)s rows created, %(updated)s updated.") % {
        "created": record.created_count,
        "updated": record.updated_count,
    }


def _dataset(record: MappingImport):
    """(the file as rows, None) or (None, why it cannot be read) — never a traceback."""
    file_format = _format_named(record.file_format)
    if file_format is None:
        return None, _("The format %(format)s cannot be imported.") % {"format": record.file_format}
    reader = file_format(encoding=TEXT_ENCODING)
    data: bytes | str = bytes(record.content)
    if not reader.is_binary():
        try:
            data = data.decode(TEXT_ENCODING)
        except UnicodeDecodeError:
            return None, _("The file is not UTF-8 text: save it as CSV UTF-8 and send it again.")
    try:
        dataset = reader.create_dataset(data)
    except Exception as exc:  # the format library's own errors, of any type
        return None, _("%(error)s while reading the file: check that it is a %(format)s file.") % {
            "error": type(exc).__name__,
            "format": record.file_format,
        }
    if not dataset:
        return None, _("The file has no rows to import.")
    return dataset, ""


def mapping_imports_resume() -> list[int]:
    """Run the imports whose task was lost (queued longer than a task may take) or whose
    worker died (running longer than that). Returns their ids."""
    stale = _stale_before()
    candidates = MappingImport.objects.filter(
        Q(status=MappingImportStatus.QUEUED, created_at__lt=stale)
        | Q(status=MappingImportStatus.RUNNING, started_at__lt=stale)
    ).values_list("pk", flat=True)
    done = []
    for import_id in list(candidates):
        if _claim(import_id, queued_before=stale):
            _run_claimed(import_id)
            done.append(import_id)
    return done

"""django-q2 tasks of the de-para: thin — take ids, call one service."""


def run_mapping_import(import_id: int):
    """Import a de-para file stored by the admin (too large for the request)."""
    from mappings.imports import mapping_import_run

    record = mapping_import_run(import_id=import_id)
    return None if record is None else record.status


def resume_mapping_imports():
    """Maintenance: run imports whose task was lost or whose worker died."""
    from mappings.imports import mapping_imports_resume

    return mapping_imports_resume()

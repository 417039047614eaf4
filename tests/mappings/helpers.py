"""Build the POST body a browser would send for a rendered admin change form."""

from django.forms import BaseForm


def _field_data(form: BaseForm) -> dict:
    data = {}
    for name in form.fields:
        value = form[name].value()
        key = form.add_prefix(name)
        if value is None or value is False:
            continue
        if value is True:
            data[key] = "on"
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = str(value)
    return data


def change_form_post_data(response) -> dict:
    data = _field_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update(_field_data(management))
        for name in ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"):
            data[management.add_prefix(name)] = str(management[name].value())
        for form in formset.forms:
            data.update(_field_data(form))
    return data


def add_inline_rows(data: dict, prefix: str, rows: list[dict]) -> dict:
    total_key = f"{prefix}-TOTAL_FORMS"
    start = int(data[total_key])
    for offset, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{start + offset}-{name}"] = value
    data[total_key] = str(start + len(rows))
    return data

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from erp.models import OrderStatus
from mappings.models import (
    CarrierServiceMapping,
    Listing,
    MappingKind,
    OrderStatusMapping,
    PaymentMethodMapping,
    StockLocationMapping,
    UnmappedValue,
)
from mappings.selectors import Missing
from mappings.services import mapping_create, unmapped_record_many
from tests.factories import make_member, make_sku
from tests.mappings.helpers import add_inline_rows, change_form_post_data

pytestmark = pytest.mark.django_db

MAPPING_MODELS = [
    CarrierServiceMapping,
    PaymentMethodMapping,
    OrderStatusMapping,
    StockLocationMapping,
]


def _url(model, view, *args):
    return reverse(f"admin:mappings_{model._meta.model_name}_{view}", args=args)


def _channel_url(channel):
    return reverse("admin:channels_saleschannel_change", args=[channel.pk])


def _bulk_rows(channel, erp, n: int):
    CarrierServiceMapping.objects.bulk_create(
        CarrierServiceMapping(
            channel=channel,
            code="ECT",
            code_key="ect",
            service_code=f"S{i}",
            service_key=f"s{i}",
            target=erp.sedex10 if i % 2 else erp.jadlog,
        )
        for i in range(n)
    )
    PaymentMethodMapping.objects.bulk_create(
        PaymentMethodMapping(channel=channel, code=f"p{i}", code_key=f"p{i}", target=erp.pix)
        for i in range(n)
    )
    StockLocationMapping.objects.bulk_create(
        StockLocationMapping(channel=channel, code=f"w{i}", code_key=f"w{i}", target=erp.cd_sp)
        for i in range(n)
    )
    OrderStatusMapping.objects.bulk_create(
        OrderStatusMapping(channel=channel, code=f"s{i}", code_key=f"s{i}", target=OrderStatus.PAID)
        for i in range(n)
    )


def _count_queries(client, url) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_channel_change_form_queries_do_not_grow_with_mapping_rows(admin_client, erp):
    from tests.factories import make_channel

    small = make_channel(erp.company, "mercadolivre", name="Small")
    large = make_channel(erp.company, "mercadolivre", name="Large")
    _bulk_rows(small, erp, 10)
    _bulk_rows(large, erp, 1000)
    admin_client.get(_channel_url(small))  # warm caches (content types, sessions)

    small_count, _ = _count_queries(admin_client, _channel_url(small))
    large_count, response = _count_queries(admin_client, _channel_url(large))

    assert small_count == large_count
    html = response.content.decode()
    assert "De-para: carrier + service" in html
    # Selected autocomplete options are rendered from the loaded rows.
    assert html.count("Correios / SEDEX 10</option>") == 500
    assert "Jadlog / .Package</option>" in html


def test_fallback_rows_are_visibly_marked(admin_client, channel, erp):
    mapping_create(
        channel=channel, kind=MappingKind.PAYMENT_METHOD, target=erp.pix, is_fallback=True
    )
    html = admin_client.get(_channel_url(channel)).content.decode()
    assert "★ anything else" in html
    changelist = admin_client.get(_url(PaymentMethodMapping, "changelist")).content.decode()
    assert "★ anything else" in changelist


def test_inline_rows_are_saved_through_the_service(
    admin_client, channel, erp, hooks, django_capture_on_commit_callbacks
):
    unmapped_record_many(channel=channel, missing=[Missing(MappingKind.PAYMENT_METHOD, "pix")])
    data = change_form_post_data(admin_client.get(_channel_url(channel)))
    add_inline_rows(
        data,
        "paymentmethodmapping_set",
        [{"code": " PIX ", "label": "Pix", "target": str(erp.pix.pk)}],
    )
    add_inline_rows(
        data,
        "carrierservicemapping_set",
        [{"code": "ECT", "service_code": "40215", "target": str(erp.sedex10.pk)}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(_channel_url(channel), data)
    assert response.status_code == 302, response.context and [
        f.errors for i in response.context["inline_admin_formsets"] for f in i.formset.forms
    ]
    row = PaymentMethodMapping.objects.get(channel=channel)
    assert (row.code, row.code_key, row.target) == ("PIX", "pix", erp.pix)
    assert UnmappedValue.objects.get().resolved_at is not None
    assert sorted(kind for _, kind, _ in hooks) == [
        MappingKind.CARRIER_SERVICE,
        MappingKind.PAYMENT_METHOD,
    ]


def test_inline_refuses_duplicates_and_other_company_targets(admin_client, channel, erp, other_erp):
    mapping_create(channel=channel, kind=MappingKind.PAYMENT_METHOD, code="pix", target=erp.pix)
    data = change_form_post_data(admin_client.get(_channel_url(channel)))
    add_inline_rows(
        data,
        "paymentmethodmapping_set",
        [
            {"code": "Pix", "target": str(erp.credit.pk)},
            {"code": "visa", "target": str(other_erp.credit.pk)},
            {"code": "boleto", "target": str(erp.boleto.pk)},
            {"code": "BOLETO ", "target": str(erp.boleto.pk)},
        ],
    )
    response = admin_client.post(_channel_url(channel), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "This channel already maps “Pix”" in html
    assert "belongs to another company" in html
    assert "Row 4 already maps “boleto”" in html
    assert PaymentMethodMapping.objects.filter(channel=channel).count() == 1


def test_inline_post_with_many_unchanged_rows_does_not_query_per_row(admin_client, erp, settings):
    from tests.factories import make_channel

    # ~6 POST fields per row: Django's default cap (1,000 fields) refuses a channel page
    # with a few hundred de-para rows; the project setting must be raised (see report).
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

    counts = []
    for n in (10, 300):
        channel = make_channel(erp.company, "mercadolivre", name=f"N{n}")
        _bulk_rows(channel, erp, n)
        data = change_form_post_data(admin_client.get(_channel_url(channel)))
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.post(_channel_url(channel), data)
        assert response.status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- every page loads -------------------------------------------------------------------------


@pytest.fixture
def populated(channel, erp):
    rows = [
        mapping_create(
            channel=channel,
            kind=MappingKind.CARRIER_SERVICE,
            parent_code="ECT",
            code="40215",
            target=erp.sedex10,
        ),
        mapping_create(
            channel=channel, kind=MappingKind.PAYMENT_METHOD, code="pix", target=erp.pix
        ),
        mapping_create(
            channel=channel, kind=MappingKind.ORDER_STATUS, code="paid", target=OrderStatus.PAID
        ),
        mapping_create(
            channel=channel, kind=MappingKind.STOCK_LOCATION, code="1", target=erp.cd_sp
        ),
    ]
    unmapped_record_many(
        channel=channel, missing=[Missing(MappingKind.CARRIER_SERVICE, "04510", parent_code="ECT")]
    )
    listing = Listing.objects.create(
        channel=channel, sku=make_sku(erp.company, "A-1"), external_item_id="MLB1"
    )
    return {
        **{type(row): row for row in rows},
        UnmappedValue: UnmappedValue.objects.get(),
        Listing: listing,
    }


def _pages(populated):
    for model in [*MAPPING_MODELS, Listing]:
        yield _url(model, "changelist")
        yield _url(model, "add")
        yield _url(model, "change", populated[model].pk)
    for model in MAPPING_MODELS:
        yield _url(model, "import")
        yield _url(model, "export")
    yield _url(UnmappedValue, "changelist")
    yield _url(UnmappedValue, "change", populated[UnmappedValue].pk)
    yield _url(UnmappedValue, "changelist") + "?resolved_at__isnull=True"


def test_admin_pages_load_for_a_superuser(admin_client, populated):
    for url in _pages(populated):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_admin_pages_for_a_view_only_user(client, populated):
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="mappings", codename__startswith="view_")
    )
    make_member(user, populated[Listing].channel.company)
    client.force_login(user)
    for model in [*MAPPING_MODELS, Listing, UnmappedValue]:
        assert client.get(_url(model, "changelist")).status_code == 200
        assert client.get(_url(model, "change", populated[model].pk)).status_code == 200
        assert client.get(_url(model, "add")).status_code == 403
    for model in MAPPING_MODELS:
        assert client.get(_url(model, "import")).status_code == 403
        assert client.get(_url(model, "export")).status_code == 200
    html = client.get(_url(UnmappedValue, "changelist")).content.decode()
    assert "create_mapping_from_suggestion" not in html


def test_unmapped_changelist_shows_suggestions_in_constant_queries(admin_client, channel, erp):
    def fill(n):
        unmapped_record_many(
            channel=channel,
            missing=[
                Missing(MappingKind.CARRIER_SERVICE, "40215", parent_code=f"ECT{i}")
                for i in range(n)
            ]
            + [
                Missing(MappingKind.PAYMENT_METHOD, "visa"),
                Missing(MappingKind.ORDER_STATUS, "paid"),
            ],
        )

    fill(3)
    admin_client.get(_url(UnmappedValue, "changelist"))
    few, _ = _count_queries(admin_client, _url(UnmappedValue, "changelist"))
    UnmappedValue.objects.all().delete()
    fill(60)
    many, response = _count_queries(admin_client, _url(UnmappedValue, "changelist"))
    assert few == many
    html = response.content.decode()
    assert "Cartão de crédito" in html and "Paid" in html


def test_action_creates_the_mapping_from_the_suggestion(
    admin_client, channel, erp, hooks, django_capture_on_commit_callbacks
):
    unmapped_record_many(
        channel=channel,
        missing=[
            Missing(MappingKind.CARRIER_SERVICE, "40215", "SEDEX 10", parent_code="ECT"),
            Missing(MappingKind.PAYMENT_METHOD, "crypto"),
        ],
    )
    html = admin_client.get(_url(UnmappedValue, "changelist")).content.decode()
    assert "Correios / SEDEX 10" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            _url(UnmappedValue, "changelist"),
            {
                "action": "create_mapping_from_suggestion",
                "_selected_action": [
                    str(pk) for pk in UnmappedValue.objects.values_list("pk", flat=True)
                ],
            },
            follow=True,
        )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 mapping(s) created." in messages
    assert any("No suggestion for crypto" in m for m in messages)
    row = CarrierServiceMapping.objects.get(channel=channel)
    assert (row.code, row.service_code, row.target) == ("ECT", "40215", erp.sedex10)
    assert [kind for _, kind, _ in hooks] == [MappingKind.CARRIER_SERVICE]


def test_map_by_hand_link_prefills_the_add_form(admin_client, channel):
    unmapped_record_many(
        channel=channel, missing=[Missing(MappingKind.CARRIER_SERVICE, "40215", parent_code="ECT")]
    )
    html = admin_client.get(_url(UnmappedValue, "changelist")).content.decode()
    link = html.split('href="/admin/mappings/carrierservicemapping/add/?')[1].split('"')[0]
    form = admin_client.get(_url(CarrierServiceMapping, "add") + "?" + link.replace("&amp;", "&"))
    assert form.context["adminform"].form.initial["service_code"] == "40215"
    assert form.context["adminform"].form.initial["code"] == "ECT"


def test_mapping_admin_form_saves_through_the_service(
    admin_client, channel, erp, other_erp, hooks, django_capture_on_commit_callbacks
):
    url = _url(PaymentMethodMapping, "add")
    refused = admin_client.post(
        url, {"channel": channel.pk, "code": "visa", "target": other_erp.credit.pk}
    )
    assert refused.status_code == 200
    assert "belongs to another company" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(
            url, {"channel": channel.pk, "code": "visa", "target": erp.credit.pk}
        )
    assert done.status_code == 302
    assert PaymentMethodMapping.objects.get().code_key == "visa"
    assert len(hooks) == 1


def test_listing_changelist_is_constant_and_searchable(admin_client, channel, erp):
    def bind(start, n):
        skus = [make_sku(erp.company, f"SKU-{i}") for i in range(start, start + n)]
        Listing.objects.bulk_create(
            Listing(
                channel=channel, sku=s, external_item_id=f"MLB{s.pk}", external_key=f"MLB{s.pk}"
            )
            for s in skus
        )

    bind(0, 3)
    url = _url(Listing, "changelist") + f"?channel__id__exact={channel.pk}"
    admin_client.get(url)
    few, _ = _count_queries(admin_client, url)
    bind(3, 150)
    many, _ = _count_queries(admin_client, url)
    assert few == many
    found = admin_client.get(_url(Listing, "changelist") + "?q=SKU-7")
    assert list(found.context["cl"].result_list) == [Listing.objects.get(sku__code="SKU-7")]


def test_channel_page_links_to_its_bindings_and_queue(admin_client, channel):
    html = admin_client.get(_channel_url(channel)).content.decode()
    assert f"/admin/mappings/listing/?channel__id__exact={channel.pk}" in html
    # The filter the channel page uses for open unmapped values is accepted.
    unmapped_record_many(channel=channel, missing=[Missing(MappingKind.PAYMENT_METHOD, "visa")])
    response = admin_client.get(
        _url(UnmappedValue, "changelist")
        + f"?channel__id__exact={channel.pk}&resolved_at__isnull=True"
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["cl"].result_list] == ["visa"]


def test_import_form_preselects_the_filtered_channel(admin_client, channel):
    response = admin_client.get(_url(PaymentMethodMapping, "import") + f"?channel={channel.pk}")
    assert str(response.context["form"]["channel"].value()) == str(channel.pk)


@pytest.mark.parametrize("model", MAPPING_MODELS)
def test_mapping_changelists_are_constant(admin_client, erp, model):
    from tests.factories import make_channel

    channel = make_channel(erp.company, "mercadolivre", name="C")
    url = _url(model, "changelist")
    _bulk_rows(channel, erp, 3)
    admin_client.get(url)
    few, _ = _count_queries(admin_client, url)
    for each in MAPPING_MODELS:
        each.objects.all().delete()
    _bulk_rows(channel, erp, 80)
    many, response = _count_queries(admin_client, url)
    assert few == many
    assert response.context["cl"].result_count == 80


def test_a_mercadolivre_binding_shows_the_one_price_rule_and_warns_when_erp_prices_differ(
    admin_client, channel, erp
):
    from decimal import Decimal

    from erp.services import price_set
    from tests.factories import make_price_list

    channel.price_list = make_price_list(erp.company)
    channel.save()
    blue, red = make_sku(erp.company, "CAM-AZ"), make_sku(erp.company, "CAM-VM")
    listings = [
        Listing.objects.create(
            channel=channel, sku=sku, external_item_id="MLB7", external_variation_id=str(v)
        )
        for sku, v in ((blue, 1), (red, 2))
    ]
    for sku in (blue, red):
        price_set(price_list=channel.price_list, sku=sku, amount=Decimal("50.00"))
    url = _url(Listing, "change", listings[0].pk)

    page = admin_client.get(url).content.decode()
    assert "charges one price for every variation of an item" in page
    assert "differ" not in page

    price_set(price_list=channel.price_list, sku=red, amount=Decimal("80.00"))
    page = admin_client.get(url).content.decode()
    assert "The ERP prices of this item&#x27;s SKUs differ; R$ 80.00 is sent to every one" in page
    assert "CAM-AZ R$ 50.00, CAM-VM R$ 80.00" in page

"""Uploaded product images on a channel publish, end to end against the emulators (real
HTTP): the vendor gets the file's absolute address under ERPINTEGR_PUBLIC_URL, and that
address serves the file; with no public address the product waits, nothing is sent."""

import json
import urllib.request

import pytest

from erp.services import ImageSpec, product_images_set
from mappings.models import Listing
from sync.models import PublicationState, RunState
from tests.erp.images import HEADS, image_upload
from tests.sync.engine import declared_rate
from tests.sync.services.test_catalog_flow import CASES, World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


@pytest.fixture
def vendor(case, emulator):
    with declared_rate(case.adapter, rate=1000, burst=1000):
        yield emulator(case.key, rate=1000, burst=1000)


def _with_uploaded_image(world) -> None:
    product_images_set(
        product=world.product,
        images=[
            ImageSpec(file=image_upload("jpg", size=2048)),
            ImageSpec(url="https://img.example.com/cam-a.jpg"),
        ],
    )


def test_an_uploaded_image_reaches_the_vendor_by_its_public_address(
    case,
    vendor,
    media_root,
    settings,
    live_server,
):
    settings.ERPINTEGR_PUBLIC_URL = live_server.url
    world = World(case, vendor)
    _with_uploaded_image(world)
    image = world.product.images.order_by("position").first()
    address = live_server.url + image.path()

    run = world.run()
    assert run.state == RunState.SUCCEEDED, (run.error, run.detail)
    held = vendor.catalog_product(world.skus[0].code)
    if case.key == "mercadolivre":
        # Mercado Livre keeps its own copy of each pictures[].source and shows only that
        # copy's address (sandbox/mercadolivre/catalog.py): both pictures were taken.
        assert len(held["pictures"]) == 2
    else:
        held = json.dumps(held)
        assert address in held and "https://img.example.com/cam-a.jpg" in held
        assert held.index(address) < held.index("https://img.example.com/cam-a.jpg")
    # What the vendor downloads from that address is the uploaded file.
    with urllib.request.urlopen(address, timeout=10) as answer:  # noqa: S310 (loopback)
        assert answer.headers["Content-Type"] == "image/jpeg"
        body = answer.read()
    assert body.startswith(HEADS["jpg"]) and len(body) == 2048


def test_an_uploaded_image_without_a_public_address_makes_the_product_wait(
    case,
    vendor,
    media_root,
    settings,
):
    settings.ERPINTEGR_PUBLIC_URL = ""
    settings.LANGUAGE_CODE = "en"
    world = World(case, vendor)
    _with_uploaded_image(world)

    run = world.run()
    assert run.state == RunState.PARTIAL
    publication = world.publication()
    assert publication.state == PublicationState.WAITING
    assert publication.missing == ["ERPINTEGR_PUBLIC_URL"]
    assert "set ERPINTEGR_PUBLIC_URL so the channel can download uploaded images" in (
        publication.message
    )
    assert vendor.requests_log == []  # nothing was sent, no relative address
    assert not Listing.objects.filter(channel=world.channel).exists()

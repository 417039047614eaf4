"""Uploaded product images: validation, storage under a per-company random name, the
public view that serves them to the channels, and the admin inline."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from erp import services
from erp.models import Product, ProductImage
from tests.erp.images import HEADS, image_upload
from tests.factories import make_company, make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(media_root):
    company = make_company()
    product = Product.objects.create(company=company, name="Camiseta")
    make_sku(company, "CAM-M", product=product)
    return product


def _set(product, *specs):
    return services.product_images_set(product=product, images=list(specs))


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(HEADS))
def test_each_accepted_type_is_stored_under_a_random_per_company_name(product, kind, media_root):
    assert _set(product, services.ImageSpec(file=image_upload(kind, name="../../etc/x.exe")))
    image = product.images.get()
    folder, company, name = image.file.name.split("/")
    assert (folder, company) == ("products", str(product.company_id))
    # The extension is the type read from the content, never the uploaded name.
    assert name.endswith(f".{kind}") and "x" != name.split(".")[0] and len(name) > 30
    assert (media_root / image.file.name).read_bytes().startswith(HEADS[kind])


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_stored(
    product, settings, media_root
):
    settings.LANGUAGE_CODE = "en"
    _set(product, services.ImageSpec("https://cdn.example.com/a.jpg"))
    fake = SimpleUploadedFile("photo.png", b"<html>not an image</html>", content_type="image/png")
    with pytest.raises(ValidationError) as caught:
        _set(product, services.ImageSpec(file=fake))
    assert caught.value.messages == [
        "This file is not a JPEG, PNG, WebP or GIF image; the channels accept only these."
    ]
    assert list(product.images.values_list("url", flat=True)) == ["https://cdn.example.com/a.jpg"]
    assert not (media_root / "products").exists()


def test_a_file_over_the_size_cap_is_refused(product, settings):
    settings.LANGUAGE_CODE = "en"
    settings.PRODUCT_IMAGE_MAX_BYTES = 1024 * 1024
    with pytest.raises(ValidationError) as caught:
        _set(product, services.ImageSpec(file=image_upload("jpg", size=1024 * 1024 + 1)))
    assert caught.value.messages == ["The image has 1.0 MB; the largest accepted is 1 MB."]
    assert _set(product, services.ImageSpec(file=image_upload("jpg", size=1024 * 1024)))


def test_an_image_needs_a_url_or_a_file_not_both_nor_none(product, settings):
    settings.LANGUAGE_CODE = "en"
    message = "Give an image URL or an image file, one of them."
    for spec in (
        services.ImageSpec(url="https://cdn.example.com/a.jpg", file=image_upload()),
        services.ImageSpec(),
    ):
        with pytest.raises(ValidationError) as caught:
            _set(product, spec)
        assert caught.value.messages == [message]
    assert not product.images.exists()
    # The database refuses it too, whatever writes the row.
    for url, file in (("https://cdn.example.com/a.jpg", "products/1/x.png"), ("", "")):
        with pytest.raises(IntegrityError), transaction.atomic():
            ProductImage.objects.create(product=product, url=url, file=file)


def test_kept_files_stay_dropped_files_are_deleted_and_order_follows_the_list(
    product,
    django_capture_on_commit_callbacks,
):
    _set(
        product,
        services.ImageSpec(file=image_upload("png")),
        services.ImageSpec(file=image_upload("gif")),
    )
    png, gif = product.images.order_by("position")
    assert png.file.name.endswith(".png") and gif.file.name.endswith(".gif")
    # The same list again, kept by name: nothing changes.
    assert not _set(
        product, services.ImageSpec(file=png.file.name), services.ImageSpec(file=gif.file.name)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert _set(
            product,
            services.ImageSpec("https://cdn.example.com/a.jpg"),
            services.ImageSpec(file=gif.file.name),
        )
    assert list(product.images.values_list("url", "file")) == [
        ("https://cdn.example.com/a.jpg", ""),
        ("", gif.file.name),
    ]
    assert not default_storage.exists(png.file.name)
    assert default_storage.exists(gif.file.name)
    # Another product's file cannot be borrowed by name.
    other = Product.objects.create(company=product.company, name="Outro")
    with pytest.raises(ValidationError):
        _set(other, services.ImageSpec(file=gif.file.name))


# --- the public view ------------------------------------------------------------------------


def test_the_public_view_serves_the_file_with_its_type(client, product, django_assert_num_queries):
    _set(product, services.ImageSpec(file=image_upload("webp", size=300)))
    image = product.images.get()
    assert image.path() == f"/media/{image.file.name}"
    with django_assert_num_queries(1):  # the row holding the file, by its name
        response = client.get(image.path())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert "public" in response["Cache-Control"] and "max-age" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body.startswith(HEADS["webp"]) and len(body) == 300
    assert client.head(image.path()).status_code == 200
    assert client.post(image.path()).status_code == 405


def test_the_public_view_serves_nothing_else(client, product, media_root):
    _set(product, services.ImageSpec(file=image_upload("png")))
    image = product.images.get()
    company = product.company_id
    # A private file beside the images (NF-e XMLs live under MEDIA_ROOT too).
    (media_root / "nfe" / str(company)).mkdir(parents=True)
    (media_root / "nfe" / str(company) / "key.xml").write_text("<nfe/>")
    # A file in the images folder that no image row holds (an orphan, a planted file).
    orphan = f"products/{company}/{'a' * 32}.png"
    (media_root / orphan).write_bytes(HEADS["png"])
    name = image.file.name.split("/")[-1]
    for path in (
        f"/media/products/{company}/",  # no listing
        f"/media/products/{company + 1}/{name}",  # another company's folder
        f"/media/{orphan}",
        f"/media/nfe/{company}/key.xml",
        f"/media/products/{company}/..%2F..%2Fnfe%2F{company}%2Fkey.xml",
        f"/media/products/{company}/../../nfe/{company}/key.xml",
        f"/media/products/{company}/%2e%2e%2fkey.xml",
        f"/media/products/{company}/{name.rsplit('.', 1)[0]}.xml",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"<nfe/>" not in response.content
    # The file gone from storage while its row stays: 404, not an error page.
    default_storage.delete(image.file.name)
    assert client.get(image.path()).status_code == 404


def test_public_url_is_absolute_or_empty(product, settings):
    _set(product, services.ImageSpec(file=image_upload("png")))
    image = product.images.get()
    settings.ERPINTEGR_PUBLIC_URL = ""
    assert image.public_url() == ""
    settings.ERPINTEGR_PUBLIC_URL = "https://erp.example.com"
    assert image.public_url() == "https://erp.example.com" + image.path()
    by_url = ProductImage(product=product, url="https://cdn.example.com/a.jpg")
    assert by_url.public_url() == "https://cdn.example.com/a.jpg"


# --- admin ----------------------------------------------------------------------------------


def _post_data(product, **images) -> dict:
    data = {
        "name": product.name,
        "description": "",
        "brand": "",
        "category": "",
        "ncm": "",
        "origin": "",
        "active": "on",
        "skus-TOTAL_FORMS": "0",
        "skus-INITIAL_FORMS": "0",
        "catalog_publications-TOTAL_FORMS": "0",
        "catalog_publications-INITIAL_FORMS": "0",
        # The product-level attribute inline (erp.ProductAttributeValue).
        "attribute_values-TOTAL_FORMS": "0",
        "attribute_values-INITIAL_FORMS": "0",
    }
    data.update(images)
    return data


def test_admin_uploads_a_file_beside_a_url_and_shows_a_preview(admin_client, product):
    url = reverse("admin:erp_product_change", args=[product.pk])
    page = admin_client.get(url).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'name="images-0-file"' in page
    data = _post_data(
        product,
        **{
            "images-TOTAL_FORMS": "2",
            "images-INITIAL_FORMS": "0",
            "images-0-position": "1",
            "images-0-url": "https://cdn.example.com/second.jpg",
            "images-1-position": "0",
            "images-1-file": image_upload("jpg"),
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first, second = product.images.order_by("position")
    assert first.file.name.endswith(".jpg") and not first.url
    assert second.url == "https://cdn.example.com/second.jpg"
    page = admin_client.get(url).content.decode()
    assert f'<img src="{first.path()}"' in page

    # Saved again unchanged (the file kept, not uploaded again): the same file stays.
    data = _post_data(
        product,
        **{
            "images-TOTAL_FORMS": "2",
            "images-INITIAL_FORMS": "2",
            "images-0-id": first.pk,
            "images-0-product": product.pk,
            "images-0-position": "0",
            "images-0-url": "",
            "images-1-id": second.pk,
            "images-1-product": product.pk,
            "images-1-position": "1",
            "images-1-url": second.url,
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(product.images.order_by("position").values_list("file", flat=True)) == [
        first.file.name,
        "",
    ]


def test_admin_refuses_a_bad_file_and_both_url_and_file(admin_client, product):
    url = reverse("admin:erp_product_change", args=[product.pk])
    bad = SimpleUploadedFile("a.png", b"MZ\x90\x00 a program", content_type="image/png")
    for row, message in (
        ({"images-0-file": bad}, "is not a JPEG, PNG, WebP or GIF image"),
        (
            {"images-0-file": image_upload(), "images-0-url": "https://cdn.example.com/a.jpg"},
            "Give an image URL or an image file, one of them.",
        ),
    ):
        data = _post_data(
            product,
            **{"images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-0-position": "0"},
            **row,
        )
        response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count(message) == 1
    assert not ProductImage.objects.exists()

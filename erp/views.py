"""Public files: uploaded product images, which the channels download by URL. The vendors
take a picture's address, not its bytes, from us: VTEX's Create SKU file works with `Url`
only (help.vtex.com known issue 503153, "Catalog API Create SKU File only work with an URL"),
Mercado Livre downloads `pictures[].source` and needs it reachable from its servers
(developers.mercadolivre.com.br/imagens-e-moderacoes: a 403 or pending picture means the host
blocks the platform), ANYMARKET takes `images[].url` (anymarket-sdk-java Image). Nothing else
under MEDIA_ROOT is served: NF-e XMLs stay private."""

import re

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from erp.models import PRODUCT_IMAGE_DIR, ProductImage
from erp.validators import IMAGE_KINDS

# The names product_image_path gives: random URL-safe text and a known image type. Anything
# else (a dot-dot, a slash, another folder) is not a product image and gets a 404.
IMAGE_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.(?P<kind>jpg|png|webp|gif)")
IMAGE_CACHE_SECONDS = 24 * 3600


@require_safe
def product_image_file(request, company_id: int, name: str):
    """One uploaded product image, if a product image row holds it; 404 otherwise (no
    listing, no other file). The name is unguessable, so no login: the vendors' servers
    download it."""
    match = IMAGE_NAME.fullmatch(name)
    if match is None:
        raise Http404
    stored = f"{PRODUCT_IMAGE_DIR}/{company_id}/{name}"
    if not ProductImage.objects.filter(file=stored).exists():
        raise Http404
    try:
        handle = default_storage.open(stored, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=IMAGE_KINDS[match["kind"]])
    # A file's name changes with its content (a new upload is a new name): cacheable.
    response["Cache-Control"] = f"public, max-age={IMAGE_CACHE_SECONDS}"
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""Uploaded product images in tests: small files of each type (their first bytes are what
the upload validation reads). The `media_root` fixture (tests/conftest.py) keeps them in the
test's own folder."""

from django.core.files.uploadedfile import SimpleUploadedFile

# The smallest headers of each type the validation recognises, then filler bytes.
HEADS = {
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "gif": b"GIF89a\x01\x00\x01\x00",
}


def image_upload(kind: str = "png", *, name: str = "photo.png", size: int = 64):
    content = HEADS[kind] + b"\x00" * max(0, size - len(HEADS[kind]))
    return SimpleUploadedFile(name, content, content_type="image/" + kind)

from django.apps import apps
from fernet_fields.fields import EncryptedField


def reset_fernet_caches() -> None:
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, EncryptedField):
                for attr in ("keys", "fernet_keys", "fernet"):
                    field.__dict__.pop(attr, None)

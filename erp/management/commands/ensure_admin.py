"""Make sure an admin login exists (used by `make run`). Idempotent.

The password comes from ADMIN_PASSWORD; without it one is generated on the first run,
printed once, and kept in .state/admin-password (git-ignored) for the next runs.
"""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Create the admin superuser if missing (password from ADMIN_PASSWORD or generated)."

    def handle(self, *args, **options):
        User = get_user_model()
        username = settings.ADMIN_USERNAME
        state_file = Path(settings.BASE_DIR) / ".state" / "admin-password"
        if User.objects.filter(username=username).exists():
            if state_file.exists() and not settings.ADMIN_PASSWORD:
                self.stdout.write(
                    _("Admin login: %(username)s (password in %(file)s)")
                    % {"username": username, "file": state_file.relative_to(settings.BASE_DIR)}
                )
            else:
                self.stdout.write(_("Admin login: %(username)s") % {"username": username})
            return
        password = settings.ADMIN_PASSWORD
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
            state_file.parent.mkdir(parents=True, exist_ok=True)
            state_file.write_text(password + "\n")
            state_file.chmod(0o600)
        User.objects.create_superuser(
            username=username, email=settings.ADMIN_EMAIL, password=password
        )
        if generated:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Created admin login: %(username)s / %(password)s  (also saved in %(file)s)")
                    % {
                        "username": username,
                        "password": password,
                        "file": state_file.relative_to(settings.BASE_DIR),
                    }
                )
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Created admin login %(username)s (ADMIN_PASSWORD).") % {"username": username}
                )
            )

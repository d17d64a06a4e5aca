"""``cherish createapikey NAME``: make an API key and print it once.

``--revoke PREFIX`` revokes a key by its first characters; ``--list`` lists keys (never the keys).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cherish.intake.apikeys import ApiKeyError, create_api_key, revoke_api_key
from cherish.intake.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key (printed once, stored hashed), revoke one by prefix, or list them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", nargs="?", help="Who or what uses the key, e.g. 'webshop'.")
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the key starting so.")
        parser.add_argument("--list", action="store_true", help="List keys (never the keys).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                self._list()
            elif options["revoke"]:
                revoked = revoke_api_key(options["revoke"])
                self.stdout.write(f"Revoked {revoked.name} ({revoked.prefix}…).")
            elif options["name"]:
                record, key = create_api_key(options["name"])
                self.stderr.write(
                    f"Created API key “{record.name}” ({record.prefix}…). It is shown only "
                    "once; store it now. Send it as 'Authorization: Bearer KEY'."
                )
                self.stdout.write(key)
            else:
                raise CommandError("Give a NAME, --revoke PREFIX or --list.")
        except ApiKeyError as error:
            raise CommandError(error.message) from error

    def _list(self) -> None:
        for key in ApiKey.objects.order_by("created_at", "id"):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            self.stdout.write(f"{key.prefix}…  {key.name}  {state}  last used {used}")

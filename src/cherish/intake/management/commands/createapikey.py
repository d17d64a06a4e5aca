"""``cherish createapikey NAME``: make an API key and print it once.

A key is either a staff member's (``--staff USERNAME``: it acts as them) or an integration's
with scopes (``--scope cases:create --scope cases:read``: it acts as the system).
``--revoke PREFIX`` revokes a key by its first characters; ``--list`` lists keys (never the keys).
"""

from __future__ import annotations

import getpass
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cherish.intake.apikeys import ApiKeyError, create_api_key, revoke_api_key
from cherish.intake.models import ApiKey
from cherish.staff.models import Staff
from cherish.staff.principal import SCOPE_HELP


def _origin() -> dict[str, str]:
    """The audit log's "who and from where" for the command line: the operating-system
    account that ran the command on this host (there is no staff member behind it)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {"via": "command", "ip": "", "actor": f"{user}@{socket.gethostname()} (command line)"}


def _scope_list() -> str:
    return "; ".join(f"{scope.value}: {text}" for scope, text in SCOPE_HELP.items())


class Command(BaseCommand):
    help = (
        "Create an API key (printed once, stored hashed) for a staff member (--staff) or an "
        "integration (--scope ...), revoke one by prefix, or list them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name", nargs="?", help="Who or what uses the key, e.g. 'webshop'.")
        parser.add_argument(
            "--staff", metavar="USERNAME", help="The key acts as this staff member."
        )
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            metavar="SCOPE",
            help=f"An integration key's scope (repeat or comma-separate). {_scope_list()}",
        )
        parser.add_argument("--revoke", metavar="PREFIX", help="Revoke the key starting so.")
        parser.add_argument("--list", action="store_true", help="List keys (never the keys).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list"]:
                self._list()
            elif options["revoke"]:
                revoked = revoke_api_key(options["revoke"], origin=_origin())
                self.stdout.write(f"Revoked {revoked.name} ({revoked.prefix}…).")
            elif options["name"]:
                self._create(options)
            else:
                raise CommandError("Give a NAME, --revoke PREFIX or --list.")
        except ApiKeyError as error:
            raise CommandError(error.message) from error

    def _create(self, options: dict[str, Any]) -> None:
        scopes = [part.strip() for value in options["scope"] for part in value.split(",")]
        scopes = [scope for scope in scopes if scope]
        staff = None
        if options["staff"]:
            staff = (
                Staff.objects.filter(user__username=options["staff"].strip(), user__is_active=True)
                .select_related("user")
                .first()
            )
            if staff is None:
                raise CommandError(f"There is no active staff member “{options['staff']}”.")
        elif not scopes:
            raise CommandError(
                "Say who the key acts as: --staff USERNAME, or an integration's --scope "
                f"(one or more of: {', '.join(s.value for s in SCOPE_HELP)})."
            )
        record, key = create_api_key(options["name"], staff=staff, scopes=scopes, origin=_origin())
        who = f"acts as {staff.display_name}" if staff else f"scopes {', '.join(record.scopes)}"
        self.stderr.write(
            f"Created API key “{record.name}” ({record.prefix}…, {who}). It is shown only "
            "once; store it now. Send it as 'Authorization: Bearer KEY'."
        )
        self.stdout.write(key)

    def _list(self) -> None:
        for key in ApiKey.objects.select_related("staff__user").order_by("created_at", "id"):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            who = (
                f"staff {key.staff.user.get_username()}"
                if key.staff
                else "integration " + (",".join(key.scopes) or "(no scopes)")
            )
            self.stdout.write(f"{key.prefix}…  {key.name}  {who}  {state}  last used {used}")

"""``cherish demo``: migrate the database and load realistic demo data (idempotent)."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from cherish.cases import actions as case_actions
from cherish.cases.models import Case, CaseEvent, Channel, Kind, Message, Stage
from cherish.core import planner
from cherish.core.clock import now
from cherish.customers.actions import find_or_create_customer
from cherish.customers.models import Customer
from cherish.demo import texts
from cherish.outbox.models import DeliveryStatus, OutgoingEmail
from cherish.staff.actions import create_staff
from cherish.staff.models import AssignmentRule, Role, Staff, Team

CREDENTIALS = [
    ("admin", "cherish-admin", "administrator (Django admin and the desk)"),
    ("agent", "cherish-agent", "agent in Customer Care"),
]
N_CUSTOMERS = 220
N_CASES = 520
# Optional demo loaders of higher apps; each is called when its app provides one.
EXTRA_LOADERS = [
    "cherish.care.demo",
    "cherish.outreach.demo",
    "cherish.feedback.demo",
    "cherish.learning.demo",
]


class Command(BaseCommand):
    help = "Create the database and load demo data: staff, 200+ customers, 500+ cases."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--customers", type=int, default=N_CUSTOMERS)
        parser.add_argument("--cases", type=int, default=N_CASES)

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                mode = cursor.fetchone()[0]
            self.stdout.write(f"SQLite database ready (journal mode {mode}).")
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists():
            self.stdout.write("Demo data is already loaded; nothing to do.")
        else:
            rng = random.Random(options["seed"])
            self._load(rng, n_customers=options["customers"], n_cases=options["cases"])
        self.stdout.write(self.style.SUCCESS("\nSign in at http://127.0.0.1:8000/login/ as:"))
        for username, password, what in CREDENTIALS:
            self.stdout.write(f"  {username:<6} password {password:<14} {what}")
        self.stdout.write("Other demo staff (ben, chloe, dev, ema) use the password cherish-demo.")
        self.stdout.write("The public complaint page is http://127.0.0.1:8000/complain/")
        inbound = ", ".join(settings.CHERISH_INBOUND_ADDRESSES)
        self.stdout.write(f"Mail to {inbound} at SMTP 127.0.0.1:2525 opens or continues a case.")

    def _load(self, rng: random.Random, *, n_customers: int, n_cases: int) -> None:
        with transaction.atomic():
            staff = self._staff()
            customers = self._customers(rng, n_customers)
            cases = self._cases(rng, customers, staff, n_cases)
        for dotted in EXTRA_LOADERS:
            try:
                module = importlib.import_module(dotted)
            except ModuleNotFoundError:
                continue
            loader = getattr(module, "load_demo", None)
            if loader is not None:
                self.stdout.write(f"Loading {dotted} …")
                loader(cases=cases, customers=customers, staff=staff, rng=rng)
        # The demo's history includes replies "sent" months ago; they must not go out now to
        # the example.com customers (or keep a fresh install's worker busy retrying them).
        discarded, _ = OutgoingEmail.objects.filter(status=DeliveryStatus.PENDING).delete()
        self.stdout.write(f"Discarded {discarded} e-mails of the demo history from the outbox.")
        self.stdout.write("Reading every message (triage) …")
        call_command("triage", "backfill", stdout=self.stdout)
        if "rebuild_scorecard" in get_commands():
            self.stdout.write("Rolling up the scorecard …")
            call_command("rebuild_scorecard", stdout=self.stdout)
        # A fresh database has no planner statistics; SQLite would guess its indexes.
        planner.analyze()
        self.stdout.write(
            f"Loaded {Staff.objects.count()} staff, {Customer.objects.count()} customers, "
            f"{Case.objects.count()} cases, {Message.objects.count()} messages."
        )

    def _staff(self) -> list[Staff]:
        care = Team.objects.create(name="Customer Care", email="care@cherish.example.com")
        service = Team.objects.create(name="Sales & Service", email="service@cherish.example.com")
        people = [
            ("agent", "cherish-agent", "Alice Morgan", care, Role.AGENT),
            ("ben", "cherish-demo", "Ben Carter", care, Role.AGENT),
            ("chloe", "cherish-demo", "Chloe Adeyemi", care, Role.LEAD),
            ("dev", "cherish-demo", "Dev Sharma", service, Role.LEAD),
            ("ema", "cherish-demo", "Ema Novak", service, Role.AGENT),
        ]
        staff = [
            create_staff(
                username=username,
                password=password,
                display_name=name,
                email=f"{username}@cherish.example.com",
                team=team,
                role=role,
            )
            for username, password, name, team, role in people
        ]
        care.lead = staff[2]
        care.save(update_fields=["lead"])
        service.lead = staff[3]
        service.save(update_fields=["lead"])
        create_staff(
            username="admin",
            password="cherish-admin",
            display_name="Sam Admin",
            email="admin@cherish.example.com",
            role=Role.MANAGER,
            is_superuser=True,
        )
        Staff.objects.filter(user__username="admin").update(is_available=False)
        AssignmentRule.objects.create(kind=Kind.COMPLAINT, team=care)
        for kind in (Kind.INQUIRY, Kind.COMPLIMENT, Kind.SUGGESTION):
            AssignmentRule.objects.create(kind=kind, team=service)
        return staff

    def _customers(self, rng: random.Random, count: int) -> list[Customer]:
        customers = []
        for i in range(count):
            first = rng.choice(texts.FIRST_NAMES)
            last = rng.choice(texts.LAST_NAMES)
            email = f"{first}.{last}.{i}@example.com".lower().replace("'", "")
            phone = f"+44 7700 9{i:05d}"[:16] if rng.random() < 0.6 else ""
            customer, _ = find_or_create_customer(name=f"{first} {last}", email=email, phone=phone)
            since = now().date() - dt.timedelta(days=rng.randint(30, 4000))
            Customer.objects.filter(pk=customer.pk).update(customer_since=since)
            customers.append(customer)
        return customers

    def _text(self, rng: random.Random, kind: str, staff: list[Staff]) -> str:
        bank = {
            Kind.COMPLAINT: texts.COMPLAINTS,
            Kind.INQUIRY: texts.INQUIRIES,
            Kind.COMPLIMENT: texts.COMPLIMENTS,
            Kind.SUGGESTION: texts.SUGGESTIONS,
        }[kind]
        return rng.choice(bank).format(
            order=f"ORD-{rng.randint(100000, 999999)}", staff=rng.choice(staff).first_name
        )

    def _cases(
        self, rng: random.Random, customers: list[Customer], staff: list[Staff], count: int
    ) -> list[Case]:
        kinds = (
            [Kind.COMPLAINT] * 60
            + [Kind.INQUIRY] * 25
            + [Kind.COMPLIMENT] * 9
            + [Kind.SUGGESTION] * 6
        )
        channels = [Channel.WEB] * 4 + [Channel.EMAIL] * 4 + [Channel.PHONE, Channel.API]
        flow = [
            Stage.ACKNOWLEDGED,
            Stage.LISTENING,
            Stage.RESPONDING,
            Stage.RECOVERING,
            Stage.PLUS_ONE,
            Stage.FOLLOWING_UP,
            Stage.CLOSED,
        ]
        cases = []
        # A few customers complain often; most once or twice.
        weights = [rng.paretovariate(1.5) for _ in customers]
        current = now()
        for _ in range(count):
            customer = rng.choices(customers, weights=weights)[0]
            kind = rng.choice(kinds)
            text = self._text(rng, kind, staff)
            case, _ = case_actions.open_case(
                customer,
                text=text,
                kind=kind,
                channel=rng.choice(channels),
                subject=text.split(".")[0][:80],
            )
            steps = rng.randint(0, len(flow)) if kind == Kind.COMPLAINT else rng.choice([0, 1, 7])
            if steps and case.owner:
                reply = rng.choice(texts.AGENT_REPLIES).format(
                    name=customer.name.split(" ")[0],
                    fix=rng.choice(texts.FIXES),
                    day=rng.choice(["Tuesday", "Thursday", "Friday"]),
                    owner=case.owner.first_name,
                )
                case_actions.reply_to_customer(case, text=reply, by=case.owner)
            for stage in flow[: min(steps, len(flow))]:
                case_actions.change_stage(case, stage=stage, by=case.owner, reason="demo")
            # Closed cases spread over the last six months; open ones mostly arrived this
            # week, as in a desk that keeps up, with a tail of older ones that slipped.
            if not case.is_open:
                age = dt.timedelta(minutes=rng.randint(3 * 24 * 60, 180 * 24 * 60))
            elif rng.random() < 0.85:
                age = dt.timedelta(minutes=rng.randint(10, 4 * 24 * 60))
            else:
                age = dt.timedelta(minutes=rng.randint(4 * 24 * 60, 30 * 24 * 60))
            self._shift(case, current - age)
            cases.append(case)
        return cases

    @staticmethod
    def _shift(case: Case, start: dt.datetime) -> None:
        """Move a demo case's timestamps back in time, keeping their order and spacing."""
        delta = case.created_at - start
        Case.objects.filter(pk=case.pk).update(
            created_at=case.created_at - delta,
            updated_at=case.updated_at - delta,
            last_inbound_at=start,
        )
        for model in (Message, CaseEvent):
            rows = list(model.objects.filter(case=case))
            for position, row in enumerate(rows):
                row.created_at = row.created_at - delta + dt.timedelta(minutes=17 * position)
            model.objects.bulk_update(rows, ["created_at"])
        Case.objects.filter(pk=case.pk, first_response_at__isnull=False).update(
            first_response_at=start + dt.timedelta(hours=3)
        )
        Case.objects.filter(pk=case.pk, closed_at__isnull=False).update(
            closed_at=start + dt.timedelta(days=2)
        )
        case.refresh_from_db()

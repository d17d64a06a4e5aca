"""``cherish triage train|eval|backfill``."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cherish.cases.models import Direction, Message
from cherish.core.clock import now
from cherish.triage import loader
from cherish.triage.actions import apply_triage
from cherish.triage.loader import get_triager
from cherish.triage.models import Correction, ModelVersion, TriageRecord

FLOOR_FILE = Path(__file__).resolve().parents[2] / "eval_floor.json"


def shared_data_dir() -> Path:
    configured = os.environ.get("CHERISH_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[5].parent / "shared" / "data"


class Command(BaseCommand):
    help = "Train the triage models with staff corrections, evaluate them, or triage the backlog."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        train = sub.add_parser("train", help="Retrain from shipped data plus staff corrections.")
        train.add_argument("--out", help="Model directory (default: the data dir).")
        train.add_argument(
            "--fields",
            default="kind,topic,cfpb_topic,learned",
            help="What to retrain (comma-separated; the rest is copied from the current "
            "model). 'learned' covers emotion, urgency, phase, language and the flags.",
        )
        evaluate = sub.add_parser("eval", help="Print the figures; fail below the recorded floor.")
        evaluate.add_argument("--data", help="Folder of the public data sets (../shared/data).")
        evaluate.add_argument("--no-guard", action="store_true")
        evaluate.add_argument(
            "--full", action="store_true", help="Add the 5-fold CFPB topic CV (slow)."
        )
        backfill = sub.add_parser("backfill", help="Triage inbound messages that have no result.")
        backfill.add_argument("--batch", type=int, default=500)
        backfill.add_argument("--limit", type=int, default=0)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _train(self, options: dict[str, Any]) -> None:
        from cherish.triage.engine import train

        # Every field staff corrected: kind and topic train those models; emotion, urgency,
        # phase, language and the flags train their learned overrides.
        corrections = list(
            Correction.objects.order_by("id").values_list("text", "field", "new_value")
        )
        stamp = now().strftime("%Y%m%d%H%M%S")
        out = Path(options["out"] or settings.DATA_DIR / "models" / "triage" / stamp)
        fields = tuple(f.strip() for f in options["fields"].split(",") if f.strip())
        current = ModelVersion.objects.filter(active=True).order_by("-created_at", "-id").first()
        base = (
            Path(current.path)
            if current and (Path(current.path) / "manifest.json").exists()
            else None
        )
        manifest = train(
            corrections, out_dir=out, fields=fields, **({"base_dir": base} if base else {})
        )
        with transaction.atomic():
            ModelVersion.objects.create(
                version=str(manifest["version"]),
                path=str(out),
                created_at=now(),
                corrections_used=len(corrections),
            )
            Correction.objects.filter(used_in_model="").update(
                used_in_model=str(manifest["version"])
            )
        # Other processes look every few seconds; this one must not go on reading with the
        # old model for those seconds.
        loader.check_soon()
        learned = ", ".join(sorted(manifest.get("learned") or {})) or "none"
        skipped = manifest.get("corrections_skipped_fields") or {}
        self.stdout.write(
            f"Trained {manifest['version']} with {manifest['corrections_used']} of "
            f"{len(corrections)} staff corrections into {out} (learned overrides: {learned}"
            + (f"; not learnable: {skipped}" if skipped else "")
            + "); running processes switch to it within seconds."
        )

    def _eval(self, options: dict[str, Any]) -> None:
        from cherish.triage.engine.evalreport import check_floor, run_eval

        data = Path(options["data"]) if options["data"] else shared_data_dir()
        if not data.exists():
            raise CommandError(f"No evaluation data at {data}; pass --data or CHERISH_SHARED_DATA.")
        figures = run_eval(data, out=self.stdout.write, full=options["full"])
        if options["no_guard"] or not FLOOR_FILE.exists():
            return
        below = check_floor(figures, FLOOR_FILE)
        if below:
            floor = json.loads(FLOOR_FILE.read_text())["floor"]
            lines = [f"  {name}: {figures[name]:.3f} < recorded {floor[name]}" for name in below]
            raise CommandError(
                "Triage figures dropped below the recorded floor:\n" + "\n".join(lines)
            )
        self.stdout.write(
            self.style.SUCCESS("Every guarded figure is at or above the recorded floor.")
        )

    def _backfill(self, options: dict[str, Any]) -> None:
        triager = get_triager()
        done = TriageRecord.objects.values("message_id")
        last_id = 0
        total = 0
        engine_s = 0.0
        started = time.perf_counter()
        while True:
            batch = list(
                Message.objects.filter(direction=Direction.INBOUND, pk__gt=last_id)
                .exclude(pk__in=done)
                .order_by("pk")
                .only("id", "case_id", "body_text", "subject", "created_at")[: options["batch"]]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            t0 = time.perf_counter()
            results = triager.triage_batch(
                [f"{m.subject}\n{m.body_text}" if m.subject else m.body_text for m in batch]
            )
            engine_s += time.perf_counter() - t0
            with transaction.atomic():
                for message, result in zip(batch, results, strict=True):
                    apply_triage(message, result.to_dict())
            total += len(batch)
            if options["limit"] and total >= options["limit"]:
                break
        elapsed = time.perf_counter() - started
        if total:
            self.stdout.write(
                f"Triaged {total} messages in {elapsed:.1f} s: model {total / engine_s:.0f} msg/s, "
                f"end to end with database writes {total / elapsed:.0f} msg/s."
            )
        else:
            self.stdout.write("Nothing to triage.")

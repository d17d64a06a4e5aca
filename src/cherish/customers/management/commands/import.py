"""`cherish import transactions FILE.csv` and `cherish import customers FILE.csv`."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cherish.core import planner
from cherish.customers import importing


class Command(BaseCommand):
    help = "Import customers or transactions from a CSV file (idempotent by external id)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, parser_class=CommandParser)
        for name, fields in (
            ("transactions", importing.TRANSACTION_FIELDS),
            ("customers", importing.CUSTOMER_FIELDS),
        ):
            child = sub.add_parser(
                name,
                help=f"Import {name}. Columns: {', '.join(fields)}.",
                called_from_command_line=getattr(parser, "called_from_command_line", None),
            )
            child.add_argument("file", type=Path, help="CSV file with a header row (UTF-8).")
            child.add_argument(
                "--map",
                action="append",
                default=[],
                metavar="CSV_COLUMN=FIELD",
                help="Read FIELD from CSV_COLUMN (repeat for several columns).",
            )
            child.add_argument("--rejects", type=Path, help="Also write rejected rows here.")
            child.add_argument(
                "--no-progress", action="store_true", help="Do not draw the progress bar."
            )

    def handle(self, *args: Any, **options: Any) -> None:
        what: str = options["what"]
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        allowed = (
            importing.TRANSACTION_FIELDS if what == "transactions" else importing.CUSTOMER_FIELDS
        )
        try:
            mapping = importing.parse_mapping(options["map"], allowed)
        except importing.RowError as exc:
            raise CommandError(str(exc)) from None
        progress = None
        if not options["no_progress"]:
            progress = importing.Progress(importing.count_data_lines(path), stream=self.stderr)
        rejects_fh = open(options["rejects"], "w", newline="") if options["rejects"] else None  # noqa: SIM115
        rejects_writer: Any = None

        def on_reject(item: importing.Rejected) -> None:
            nonlocal rejects_writer
            if rejects_fh is None:
                return
            if rejects_writer is None:
                rejects_writer = csv.writer(rejects_fh)
                rejects_writer.writerow(["line", "reason", *item.row.keys()])
            rejects_writer.writerow([item.line, item.reason, *item.row.values()])

        try:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                run = (
                    importing.import_transactions
                    if what == "transactions"
                    else importing.import_customers
                )
                report = run(fh, mapping=mapping, progress=progress, on_reject=on_reject)
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text ({exc}).") from None
        finally:
            if rejects_fh is not None:
                rejects_fh.close()
        if report.written:
            # Thousands of new rows at once: the planner's statistics are out of date.
            planner.analyze()
        self.stdout.write(
            f"{report.kind}: {report.read} rows read, {report.written} stored"
            + (f" ({report.created} new customers)" if what == "customers" else "")
            + f", {report.rejected_count} rejected."
        )
        for item in sorted(report.rejected, key=lambda r: r.line)[:200]:
            self.stdout.write(f"  line {item.line}: {item.reason}")
        if report.rejected_count > 200:
            self.stdout.write(f"  … and {report.rejected_count - 200} more (see --rejects).")

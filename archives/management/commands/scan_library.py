"""Register the archive files found in the content folder (LANraragi's library scan)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand
from django.core.management.base import CommandParser
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from archives.scanning import ScanReport
from archives.scanning import library_scan


class _ProgressBar:
    """Shows a scan's progress notes as one tqdm bar per stage."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: tqdm[Any] | None = None

    def note(self, **notes: Any) -> None:
        if "total" in notes:
            self.close()
            # tqdm writes carriage returns; Django's OutputWrapper would add newlines.
            self.bar = tqdm(
                total=int(notes["total"]),
                desc=str(notes.get("stage", "")),
                unit="file",
                file=sys.stderr,
                disable=not self.enabled,
            )
        if "done" in notes and self.bar is not None:
            self.bar.update(int(notes["done"]) - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Register every archive file in the archives storage that has no record yet, mark records "
        "whose file has gone as missing, and move edited files' records to their new ID."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        bar = _ProgressBar(enabled=options["verbosity"] > 0)
        # Log lines (skipped files) are printed above the bar instead of through it.
        with logging_redirect_tqdm():
            try:
                report = library_scan(dry_run=options["dry_run"], progress=bar)
            finally:
                bar.close()
        self._summary(report)

    def _summary(self, report: ScanReport) -> None:
        would = "would be " if report.dry_run else ""
        others = "file" if report.ignored == 1 else "files"
        self.stdout.write(f"Scanned {report.files} archive files ({report.ignored} other {others} ignored).")
        self.stdout.write(f"  {would}added: {len(report.added)}")
        self.stdout.write(f"  already known: {report.known}")
        self._names(f"{would}moved to a new ID (content changed)", [k for k, _, _ in report.moved])
        self._names(f"{would}found under a new name", [f"{old} -> {new}" for old, new in report.relocated])
        self._names(f"{would}back from missing", report.restored)
        self._names(f"{would}marked missing", report.marked_missing)
        self._names(f"{would}refreshed (size changed)", report.refreshed)
        self._names("unreadable, skipped", report.unreadable, style=self.style.WARNING)
        self._names(
            "duplicates, skipped",
            [f"{key} (same ID as {kept})" for key, kept in report.duplicates],
            style=self.style.WARNING,
        )
        self._names("in use by an upload, skipped", report.busy, style=self.style.WARNING)
        if report.dry_run:
            self.stdout.write("Dry run: nothing was written.")

    def _names(self, label: str, names: list[str], style: Any = None) -> None:
        if not names:
            return
        line = f"  {label}: {len(names)}"
        self.stdout.write(style(line) if style else line)
        for name in names:
            self.stdout.write(f"    {name}")

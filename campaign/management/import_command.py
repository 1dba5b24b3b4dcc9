"""The shape every `import_*` command shares: `--campaign SLUG FILE`, a report, exit 1 on rejects."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from traders.imports import make_progress


class ImportCommand(BaseCommand):
    """Subclasses set `label` and implement `run(campaign, data, filename, progress)`."""

    label = "records"

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign slug, e.g. star-lead-traders-2")
        parser.add_argument("file", help="path of the UTF-8 file to import")
        parser.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
        parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    def handle(self, *args, campaign, file, progress, no_progress, **options):
        try:
            campaign_obj = Campaign.objects.get(slug=campaign)
        except Campaign.DoesNotExist:
            raise CommandError(f"no campaign with slug {campaign!r}") from None
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        data = path.read_bytes()
        wanted = not no_progress and (progress or sys.stderr.isatty())
        bar = make_progress(max(data.count(b"\n"), 1), enabled=wanted, desc=f"import {self.label}")
        try:
            report = self.run(campaign_obj, data, path.name, bar)
        finally:
            if bar is not None:
                bar.close()
        for line, reason in report.errors:
            self.stderr.write(f"{path.name}: line {line}: {reason}")
        self.stdout.write(report.summary() + f" (import run #{report.run.pk})")
        if not report.ok:
            run = report.run
            rest = "nothing was imported" if not run.accepted else f"the other {run.accepted} were imported"
            raise CommandError(f"{run.rejected} record(s) rejected; {rest}", returncode=1)

    def run(self, campaign, data, filename, progress):  # pragma: no cover - abstract
        raise NotImplementedError

"""The shape every `import_*` command shares: `--campaign SLUG FILE`, a report, exit 1 on rejects."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from campaign.models import Campaign
from campaign.services import campaign_import_file
from campaign.services.signups import import_lines_count
from core.imports import make_progress
from core.models import ImportRun


class ImportCommand(BaseCommand):
    """Subclasses set `kind` (an ImportRun.Kind) and `label`.

    The file is streamed from its path, never read whole; the progress bar counts its lines
    (counted first, in blocks). The run's counts are saved with every chunk, so a command killed
    half-way leaves a run that shows what it committed; running the command again imports the
    file again, which changes nothing for the rows already there (every import upserts)."""

    kind = ""
    label = "records"

    def import_options(self, *, progress: bool) -> dict:
        """What this kind's import takes besides the file (the posts command: its judging's bars)."""
        return {}

    def bars_close(self) -> None:
        """Close what `import_options` opened."""

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
        wanted = not no_progress and (progress or sys.stderr.isatty())
        bar = make_progress(max(import_lines_count(kind=self.kind, path=path), 1), enabled=wanted, desc=f"import {self.label}")
        try:
            report = campaign_import_file(
                campaign=campaign_obj, kind=self.kind, path=path, source=ImportRun.Source.COMMAND, progress=bar, **self.import_options(progress=wanted)
            )
        finally:
            if bar is not None:
                bar.close()
            self.bars_close()
        run = report.run
        if report.refused:
            raise CommandError(f"{path.name}: the file was refused: {run.error}; nothing was imported (import run #{run.pk})", returncode=1)
        for line, reason in report.errors:
            self.stderr.write(f"{path.name}: line {line}: {reason}")
        if report.errors_left_off:
            self.stderr.write(f"{path.name}: {report.errors_left_off} more rejected lines: see import run #{run.pk} in the admin")
        self.stdout.write(report.summary() + f" (import run #{run.pk})")
        if not report.ok:
            rest = "nothing was imported" if not run.accepted else f"the other {run.accepted} were imported"
            raise CommandError(f"{run.rejected} record(s) rejected; {rest}", returncode=1)


class StageBars:
    """One progress bar per stage of a judging job (`judging_job_wait`'s `progress`), for the
    commands that wait for one: the posts import and `resign_posts`."""

    def __init__(self, desc: str):
        self.desc, self.bars = desc, {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from campaign.models import JudgingJob

        bar = self.bars.get(stage)
        if bar is None:
            unit = "chunk" if stage == JudgingJob.Stage.INDEX else "post"
            bar = self.bars[stage] = make_progress(total, enabled=True, desc=f"{self.desc}: {JudgingJob.Stage(stage).label}", unit=unit)
        bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()

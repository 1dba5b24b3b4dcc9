import sys

from django.core.management.base import BaseCommand, CommandError

from campaign.management.import_command import StageBars
from campaign.models import Campaign, JudgingJob
from campaign.services.import_judging import judging_job_start, judging_job_wait
from campaign.services.text_signing import posts_resign_all


class Command(BaseCommand):
    help = (
        "Sign every text of a campaign again (after a change of the signature scheme), then rebuild its "
        "near-duplicate index and links and judge what changed: a judging job that Celery workers share, "
        "which this command waits for and takes chunks of, with a bar a stage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign slug, e.g. star-lead-traders-2")
        parser.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    def handle(self, *args, campaign, no_progress, **options):
        try:
            campaign_obj = Campaign.objects.get(slug=campaign)
        except Campaign.DoesNotExist:
            raise CommandError(f"no campaign with slug {campaign!r}") from None
        waiting = posts_resign_all(campaign=campaign_obj)
        bars = StageBars("re-sign") if not no_progress and sys.stderr.isatty() else None
        try:
            job = judging_job_wait(job=judging_job_start(campaign=campaign_obj), progress=bars)
        finally:
            if bars is not None:
                bars.close()
        if job.stage != JudgingJob.Stage.DONE:
            raise CommandError(f"judging job #{job.pk} stopped: {job.error}")
        self.stdout.write(f"{campaign_obj.slug}: {waiting} posts signed again, index rebuilt, verdicts current (judging job #{job.pk})")

from campaign.management.import_command import ImportCommand
from campaign.models import JudgingJob
from core.imports import make_progress
from core.models import ImportRun


class Command(ImportCommand):
    help = (
        "Import posts (JSON Lines: post_id, author_uid, created_at, text, likes, comments, shares, views, deleted), "
        "then wait for their verdicts: the judging is queued in chunks that Celery workers share, and this command "
        "takes chunks too, so it finishes with no worker running. A bar for the write, then one per judging stage."
    )
    kind = ImportRun.Kind.POSTS
    label = "posts"

    def import_options(self, *, progress: bool) -> dict:
        self._bars = {}
        if not progress:
            return {}

        def judging_progress(stage: str, done: int, total: int) -> None:
            bar = self._bars.get(stage)
            if bar is None:
                unit = "chunk" if stage == JudgingJob.Stage.INDEX else "post"
                bar = self._bars[stage] = make_progress(total, enabled=True, desc=f"judge: {JudgingJob.Stage(stage).label}", unit=unit)
            bar.total = total
            bar.update(done - bar.n)

        return {"judging_progress": judging_progress}

    def bars_close(self) -> None:
        for bar in getattr(self, "_bars", {}).values():
            bar.close()

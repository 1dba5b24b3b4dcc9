from campaign.management.import_command import ImportCommand, StageBars
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
        self._bars = StageBars("judge") if progress else None
        return {"judging_progress": self._bars} if progress else {}

    def bars_close(self) -> None:
        if getattr(self, "_bars", None) is not None:
            self._bars.close()

from campaign.management.import_command import ImportCommand
from core.models import ImportRun


class Command(ImportCommand):
    help = "Import posts (JSON Lines: post_id, author_uid, created_at, text, likes, comments, shares, views, deleted)."
    kind = ImportRun.Kind.POSTS
    label = "posts"

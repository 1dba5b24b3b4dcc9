from campaign.management.import_command import ImportCommand
from campaign.services import posts_import_file


class Command(ImportCommand):
    help = "Import posts (JSON Lines: post_id, author_uid, created_at, text, likes, comments, shares, views, deleted)."
    label = "posts"

    def run(self, campaign, data, filename, progress):
        return posts_import_file(campaign=campaign, data=data, filename=filename, progress=progress)

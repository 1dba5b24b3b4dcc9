"""Signing stored texts: the MinHash signature and the text facts (checks 4 and 5) of posts a bulk
import stored without them.

A bulk import acknowledges its posts once they are stored (`campaign.services.posts`, the
`bulk` write) and leaves their signatures and facts to the judging it queues
(`campaign.services.import_judging`), which signs them in chunks on whichever processes take
them. Whatever reads signatures as a whole first signs what is still unsigned
(`campaign.services.qualify`), so a settlement that comes before the queued judging finishes is
never judged on a partial index. The bytes are those the write itself would have stored
(`near_duplicates.text_signatures`), and the facts those of `qualification.text_facts`.
"""

from campaign.models import Campaign, Post
from campaign.near_duplicates import text_signatures
from campaign.qualification import text_facts
from campaign.services.judging import campaign_lexicon
from core.database import rows_update

SIGN_BATCH = 2000  # texts read and signed together


def unsigned_posts(campaign: Campaign):
    """The campaign's posts stored without a signature: new or changed texts of a bulk import not
    signed yet (found through the partial index of posts waiting for the near-duplicate index)."""
    return Post.objects.filter(campaign=campaign, index_stale=True, signature=b"")


def posts_sign(*, campaign: Campaign, low: int | None = None, high: int | None = None) -> int:
    """Sign the unsigned posts of the campaign (those with ids from `low` to `high`, when given):
    store each one's signature and text facts. Returns how many posts were signed.

    Idempotent and safe beside any writer: a post is updated only while its text is still the one
    signed (a newer text stored meanwhile keeps waiting, unsigned, for the next call), and only
    while it is unsigned, so two callers on one post write the same bytes once.
    """
    posts = unsigned_posts(campaign)
    if low is not None:
        posts = posts.filter(id__gte=low)
    if high is not None:
        posts = posts.filter(id__lte=high)
    ids = list(posts.order_by("id").values_list("id", flat=True))
    lexicon = campaign_lexicon(campaign)
    signed = 0
    for lo in range(0, len(ids), SIGN_BATCH):
        rows = list(Post.objects.filter(id__in=ids[lo : lo + SIGN_BATCH]).order_by().values_list("id", "text", "content_hash"))
        signatures = text_signatures([text for _, text, _ in rows])
        facts = [text_facts(text, lexicon) for _, text, _ in rows]
        signed += rows_update(
            model=Post,
            values=("id", "signature", "text_length", "trading_term", "lexicon_key", "content_hash"),
            rows=[(pk, signature, *fact, digest) for (pk, _, digest), signature, fact in zip(rows, signatures, facts)],
            assign={column: f"v.{column}" for column in ("signature", "text_length", "trading_term", "lexicon_key")},
            where="t.id = v.id AND t.content_hash = v.content_hash AND length(t.signature) = 0",
        )
    return signed


def posts_resign_all(*, campaign: Campaign) -> int:
    """After a change of the signature scheme (`near_duplicates.core`): sign the campaign's
    reference texts again now, and leave every post unsigned and waiting for the index, with the
    index marked incomplete, so that the next judging signs every text again and rebuilds the
    band rows and links from the new signatures (`resign_posts` queues and waits for that judging).
    Returns how many posts wait. Under the campaign lock: no judging sees half of it."""
    from django.db import transaction

    from campaign.models import ReferenceText
    from campaign.near_duplicates.db import index_forget
    from campaign.services.locks import campaign_lock

    with transaction.atomic():
        campaign_lock(campaign)
        references = list(ReferenceText.objects.filter(campaign=campaign).order_by("pk"))
        for reference, signature in zip(references, text_signatures([r.text for r in references])):
            reference.signature = signature
        ReferenceText.objects.bulk_update(references, ["signature"], batch_size=1000)
        index_forget(campaign)
        return Post.objects.filter(campaign=campaign).update(signature=b"", index_stale=True)

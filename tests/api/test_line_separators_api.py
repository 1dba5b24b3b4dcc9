"""Issue 19 through the API batch: a text holding U+2028, U+2029 or U+0085 is stored as sent."""

import json

import pytest

from campaign.models import Post
from tests.campaign.test_line_separators import IDS, SEPARATORS
from tests.factories import TRADING_TEXT, enrolled_trader, post_item

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("separator", SEPARATORS, ids=IDS)
def test_a_batched_post_whose_text_holds_the_character_is_stored_as_sent(ingest_client, campaign, separator):
    enrolled_trader(campaign, uid=7)
    text = TRADING_TEXT.replace(". ", "." + separator, 1)
    body = json.dumps([post_item("p1", 7, text=text)], ensure_ascii=False).encode()
    response = ingest_client.post(f"/api/v1/campaigns/{campaign.slug}/posts/", data=body, content_type="application/json")
    assert response.status_code == 200 and response.json()["accepted"] == 1
    post = Post.objects.get(post_id="p1")
    assert (post.text, post.verdict) == (text, "qualified")

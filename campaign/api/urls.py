from django.urls import path

from campaign.api.views import PostsUpsertApi, SignupsUpsertApi
from campaign.views import PostsWebhookView

urlpatterns = [
    path("campaigns/<slug:slug>/signups/", SignupsUpsertApi.as_view(), name="api-signups-upsert"),
    path("campaigns/<slug:slug>/posts/", PostsUpsertApi.as_view(), name="api-posts-upsert"),
    # The same view as /hooks/posts/: its permission is the HMAC signature, not a token.
    path("hooks/posts/", PostsWebhookView.as_view(), name="api-posts-webhook"),
]

from django.urls import path

from campaign.views import PostsWebhookView

app_name = "campaign"
urlpatterns = [path("hooks/posts/", PostsWebhookView.as_view(), name="posts-webhook")]

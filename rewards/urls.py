from django.urls import path

from rewards.views import CampaignPageView, TraderStatusView

app_name = "rewards"
urlpatterns = [
    path("s/<str:token>/", TraderStatusView.as_view(), name="status"),
    path("c/<slug:slug>/", CampaignPageView.as_view(), name="campaign"),
]

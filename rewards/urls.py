from django.urls import path

from rewards.views import CampaignPageView, RewardBreakdownView, TraderStatusView

app_name = "rewards"
urlpatterns = [
    path("s/<str:token>/", TraderStatusView.as_view(), name="status"),
    path("s/<str:token>/breakdown/<slug:kind>/<slug:period>/", RewardBreakdownView.as_view(), name="breakdown"),
    path("s/<str:token>/breakdown/<slug:kind>/<slug:period>/new/", RewardBreakdownView.as_view(), {"new": True}, name="breakdown-new"),
    path("c/<slug:slug>/", CampaignPageView.as_view(), name="campaign"),
]

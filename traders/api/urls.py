from django.urls import path

from traders.api.views import RegistrationsUpsertApi, TraderStatsUpsertApi

urlpatterns = [
    path("registrations/", RegistrationsUpsertApi.as_view(), name="api-registrations-upsert"),
    path("trader-stats/", TraderStatsUpsertApi.as_view(), name="api-trader-stats-upsert"),
]

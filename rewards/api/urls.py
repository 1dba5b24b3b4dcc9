from django.urls import path

from rewards.api import views

urlpatterns = [
    path("campaigns/<slug:slug>/leaderboard/", views.LeaderboardGetApi.as_view(), name="api-leaderboard-get"),
    path("status/<str:token>/", views.TraderStatusGetApi.as_view(), name="api-trader-status-get"),
    path("rewards/", views.RewardListApi.as_view(), name="api-rewards-list"),
    path("rewards/approve/", views.RewardsApproveApi.as_view(), name="api-rewards-approve"),
    path("rewards/mark-paid/", views.RewardsMarkPaidApi.as_view(), name="api-rewards-mark-paid"),
    path("review-items/", views.ReviewItemListApi.as_view(), name="api-review-items-list"),
    path("review-items/<int:item_id>/", views.ReviewItemGetApi.as_view(), name="api-review-item-get"),
    path("review-items/accept/", views.ReviewItemsAcceptApi.as_view(), name="api-review-items-accept"),
    path("review-items/keep/", views.ReviewItemsKeepApi.as_view(), name="api-review-items-keep"),
    path("adjustments/", views.AdjustmentListApi.as_view(), name="api-adjustments-list"),
    path("campaigns/<slug:slug>/budgets/", views.BudgetsGetApi.as_view(), name="api-budgets-get"),
    path("campaigns/<slug:slug>/settlements/", views.SettlementStartApi.as_view(), name="api-settlement-start"),
    path("settlements/<uuid:task_id>/", views.SettlementGetApi.as_view(), name="api-settlement-get"),
    path("settlement-runs/", views.SettlementRunListApi.as_view(), name="api-settlement-runs-list"),
    path("settlement-runs/<int:pk>/", views.SettlementRunGetApi.as_view(), name="api-settlement-run-get"),
    path("campaigns/<slug:slug>/payout-report.csv", views.PayoutReportCsvApi.as_view(), name="api-payout-report-csv"),
    path("campaigns/<slug:slug>/payout-report.xlsx", views.PayoutReportXlsxApi.as_view(), name="api-payout-report-xlsx"),
    path("campaigns/<slug:slug>/adjustments.csv", views.AdjustmentsReportCsvApi.as_view(), name="api-adjustments-report-csv"),
    path("campaigns/<slug:slug>/adjustments.xlsx", views.AdjustmentsReportXlsxApi.as_view(), name="api-adjustments-report-xlsx"),
    path("payout-reports/", views.PayoutReportListApi.as_view(), name="api-payout-reports-list"),
]

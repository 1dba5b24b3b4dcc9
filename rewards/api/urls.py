from django.urls import path

from rewards.api.views import ledger, public, reports, review_items, settlements, status_links

urlpatterns = [
    path("campaigns/<slug:slug>/leaderboard/", public.LeaderboardGetApi.as_view(), name="api-leaderboard-get"),
    path("status/<str:token>/", public.TraderStatusGetApi.as_view(), name="api-trader-status-get"),
    path("rewards/", ledger.RewardListApi.as_view(), name="api-rewards-list"),
    path("rewards/approve/", ledger.RewardsApproveApi.as_view(), name="api-rewards-approve"),
    path("rewards/mark-paid/", ledger.RewardsMarkPaidApi.as_view(), name="api-rewards-mark-paid"),
    path("review-items/", review_items.ReviewItemListApi.as_view(), name="api-review-items-list"),
    path("review-items/<int:item_id>/", review_items.ReviewItemGetApi.as_view(), name="api-review-item-get"),
    path("review-items/accept/", review_items.ReviewItemsAcceptApi.as_view(), name="api-review-items-accept"),
    path("review-items/keep/", review_items.ReviewItemsKeepApi.as_view(), name="api-review-items-keep"),
    path("adjustments/", review_items.AdjustmentListApi.as_view(), name="api-adjustments-list"),
    path("campaigns/<slug:slug>/budgets/", ledger.BudgetsGetApi.as_view(), name="api-budgets-get"),
    path("campaigns/<slug:slug>/settlements/", settlements.SettlementStartApi.as_view(), name="api-settlement-start"),
    path("settlements/<uuid:task_id>/", settlements.SettlementGetApi.as_view(), name="api-settlement-get"),
    path("settlement-runs/", settlements.SettlementRunListApi.as_view(), name="api-settlement-runs-list"),
    path("settlement-runs/<int:pk>/", settlements.SettlementRunGetApi.as_view(), name="api-settlement-run-get"),
    path("campaigns/<slug:slug>/payout-report.csv", reports.PayoutReportCsvApi.as_view(), name="api-payout-report-csv"),
    path("campaigns/<slug:slug>/payout-report.xlsx", reports.PayoutReportXlsxApi.as_view(), name="api-payout-report-xlsx"),
    path("campaigns/<slug:slug>/adjustments.csv", reports.AdjustmentsReportCsvApi.as_view(), name="api-adjustments-report-csv"),
    path("campaigns/<slug:slug>/adjustments.xlsx", reports.AdjustmentsReportXlsxApi.as_view(), name="api-adjustments-report-xlsx"),
    path("payout-reports/", reports.PayoutReportListApi.as_view(), name="api-payout-reports-list"),
    path("campaigns/<slug:slug>/status-links/<int:uid>/", status_links.StatusLinkGetApi.as_view(), name="api-status-link-get"),
]

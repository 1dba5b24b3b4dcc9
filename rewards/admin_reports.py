"""What settlement and payout leave on record, in the admin: the settlement runs (read-only, the
record of what the ledger was written from) and the stored payout reports with their downloads,
served through the admin and its permission, never as public media.
"""

from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.template.loader import render_to_string
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin
from rewards.admin_display import local_text
from rewards.admin_records import config_sections, record_html, summary_sections
from rewards.models import PayoutReport, Reward, SettlementRun
from rewards.rules.money import format_money


@admin.register(SettlementRun)
class SettlementRunAdmin(ReadOnlyAdmin):  # a run is the record of what the ledger was written from
    list_display = ["id", "campaign", "at", "started_at", "finished_at", "triggered_by", "qualified", "unallocated"]
    list_filter = ["campaign", "triggered_by"]
    search_fields = ["=id", "triggered_by"]
    list_select_related = ["campaign"]
    date_hierarchy = "started_at"
    fields = ["campaign", "settled_as_of", "started_at", "finished_at", "triggered_by", "qualified", "unallocated", "ledger", "budgets", "summary_record", "config_record"]
    readonly_fields = fields

    @admin.display(description=_("settled as of"), ordering="at")
    def settled_as_of(self, obj):
        return local_text(obj.at)

    @admin.display(description=_("qualified posts"))
    def qualified(self, obj):
        return obj.summary.get("qualified_posts", "—")

    @admin.display(description=_("unallocated"))
    def unallocated(self, obj):
        """Per pool, with its asset: content pools are never added to each other or to the board."""
        parts = [
            _("content pool %(period)s: %(amount)s %(asset)s") % {"period": code, "amount": format_money(Decimal(pool["unallocated"])), "asset": obj.config.get("pool_asset", "")}
            for code, pool in sorted(obj.summary.get("content_pool", {}).items())
            if "unallocated" in pool
        ]  # fmt: skip
        board = obj.summary.get("leaderboard", {}).get("unallocated")
        if board is not None:
            parts.append(_("leaderboard: %(amount)s %(asset)s") % {"amount": format_money(Decimal(board)), "asset": obj.config.get("leaderboard_asset", "")})
        return " · ".join(str(part) for part in parts) or "—"

    @admin.display(description=_("ledger changes"))
    def ledger(self, obj):
        ledger = obj.summary.get("ledger")
        if not ledger:
            return "—"
        return _(
            "Rewards: %(created)d created, %(updated)d updated, %(deleted)d deleted. "
            "Review items: %(opened)d opened, %(items_updated)d updated, %(withdrawn)d withdrawn."
        ) % {
            "created": ledger.get("created", 0), "updated": ledger.get("updated", 0), "deleted": ledger.get("deleted", 0),
            "opened": ledger.get("review_items", 0), "items_updated": ledger.get("review_items_updated", 0),
            "withdrawn": ledger.get("review_items_withdrawn", 0),
        }  # fmt: skip

    @admin.display(description=_("pool budgets after this settlement"))
    def budgets(self, obj):
        budgets = obj.summary.get("budgets")
        if budgets is None:
            return _("This settlement ran before the budget view existed.")
        kinds = dict(Reward.Kind.choices)
        rows = [
            {**b, "name": kinds.get(b["kind"], b["kind"]), "over": Decimal(b.get("excess") or "0") > 0}
            for b in budgets
        ]  # fmt: skip
        return render_to_string("admin/rewards/settlementrun/_budgets.html", {"rows": rows})

    @admin.display(description=_("summary"))
    def summary_record(self, obj):
        return record_html("admin/rewards/settlementrun/_summary.html", summary_sections(obj.summary))

    @admin.display(description=_("configuration used"))
    def config_record(self, obj):
        return record_html("admin/rewards/settlementrun/_config.html", config_sections(obj.config))


@admin.register(PayoutReport)
class PayoutReportAdmin(admin.ModelAdmin):
    list_display = ["campaign", "created_at", "created_by", "rows", "csv_link", "xlsx_link", "emailed_to"]
    list_filter = ["campaign"]
    list_select_related = ["campaign"]
    date_hierarchy = "created_at"
    readonly_fields = ["campaign", "created_at", "created_by", "rows", "csv_file", "xlsx_file", "emailed_to"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="CSV")
    def csv_link(self, obj):
        return format_html('<a href="{}">{}</a>', f"{obj.pk}/download/csv/", _("download"))

    @admin.display(description="XLSX")
    def xlsx_link(self, obj):
        return format_html('<a href="{}">{}</a>', f"{obj.pk}/download/xlsx/", _("download"))

    def get_urls(self):
        return [
            path("<int:pk>/download/<str:fmt>/", self.admin_site.admin_view(self.download), name="rewards_payoutreport_download"),
            *super().get_urls(),
        ]

    def download(self, request, pk, fmt):
        """Stored files are served through the admin (with its permission), never as public media."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = PayoutReport.objects.filter(pk=pk).first()
        if report is None or fmt not in {"csv", "xlsx"}:
            raise Http404
        file = report.csv_file if fmt == "csv" else report.xlsx_file
        return FileResponse(file.open("rb"), as_attachment=True, filename=file.name.rsplit("/", 1)[-1])



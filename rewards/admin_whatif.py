"""The what-if page of a campaign in the admin: a form over a copy of the configuration, the
settlement it would give beside the current one, and the one audited apply.

A thin shell over `rewards.services.whatif`. The form is validated in the request; the preview
and the apply run in the background (`WhatIfRun`, `whatif_run_task`), and each run has a page
that shows its progress (refreshing itself until it is done) and then its outcome. What is
applied is exactly what was previewed: the apply takes the changes, the configuration's
fingerprint and the instant from the finished preview run, not from the form.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.admin_forms import campaign_setting_field
from campaign.models import Campaign, Post
from campaign.setting_words import setting_lines
from core.admin import ReadOnlyAdmin
from core.parsing import parse_instant
from core.screen_time import screen_time
from rewards.charts import Bar, horizontal_bars
from rewards.exceptions import RewardError
from rewards.models import Reward, WhatIfRun
from rewards.services.whatif.apply import APPLY_PERMISSIONS
from rewards.services.whatif.changes import WHATIF_FIELDS, config_fingerprint
from rewards.services.whatif.preview import WhatIfPreview
from rewards.services.whatif.results import whatif_preview_load, whatif_run_changes
from rewards.services.whatif.runs import (
    PREVIEW_MAX_AGE,
    whatif_apply_settlement,
    whatif_apply_start,
    whatif_preview_start,
    whatif_run_restart,
    whatif_run_restartable,
    whatif_runs_list,
)

# Seeing a what-if shows what settlement would pay: the same right as reading settlement runs.
VIEW_PERMISSION = "rewards.view_settlementrun"
CHART_ROWS = 15
GAIN_COLOUR = "#1a7f37"
LOSS_COLOUR = "#cf222e"

class WhatIfForm(forms.Form):
    at = forms.CharField(
        label=gettext_lazy("As of"),
        max_length=64,
        widget=forms.TextInput(attrs={"size": 30}),
        help_text=gettext_lazy("An ISO 8601 instant with its offset; a period not yet due then shows as a preview. Default: now."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in WHATIF_FIELDS:
            self.fields[name] = campaign_setting_field(name)  # as the campaign form has it: lists as lines

    def clean_at(self):
        try:
            return parse_instant(self.cleaned_data["at"], "at")
        except ValueError:
            raise forms.ValidationError(_("Enter an instant with its offset, e.g. 2026-02-26T00:00:00+08:00.")) from None

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in WHATIF_FIELDS}

    @classmethod
    def initial_for(cls, campaign: Campaign, run: WhatIfRun | None = None) -> dict:
        """The current configuration, or with `run` the configuration and instant it previewed."""
        at = timezone.localtime(run.at) if run else timezone.localtime().replace(microsecond=0)
        initial = {"at": at.isoformat()}
        for name in WHATIF_FIELDS:
            value = run.changes[name] if run and name in run.changes else getattr(campaign, name)
            initial[name] = value  # a list is shown as its lines by its field
        return initial


class WhatIfApplyForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note (required, kept in the audit trail)"), widget=forms.Textarea(attrs={"rows": 3}))


def _kind_label(kind: str) -> str:
    return Reward.Kind(kind).label if kind in Reward.Kind.values else kind


def _verdict_label(code: str) -> str:
    return Post.Verdict(code).label if code in Post.Verdict.values else code


def whatif_chart(preview: WhatIfPreview) -> str:
    """The biggest differences, gains in green and losses in red (bar length: the amount moved)."""
    moved = sorted((r for r in preview.rows if r.difference), key=lambda r: (-abs(r.difference), r.uid, r.kind, r.period))[:CHART_ROWS]
    bars = [
        Bar(
            label=f"{r.uid} {r.nickname} · {_kind_label(r.kind)} {r.period}",
            value=abs(r.difference),
            value_text=f"{r.difference:+} {r.asset}",
            colour=GAIN_COLOUR if r.difference > 0 else LOSS_COLOUR,
        )
        for r in moved
    ]
    return horizontal_bars(chart_id="whatif-differences", title=_("Biggest differences"), bars=bars, empty_text=_("Nobody gains or loses."))




class WhatIfAdminMixin:
    """Adds the what-if page and its runs' pages to the campaign's ModelAdmin (see `RewardsCampaignAdmin`)."""

    def whatif_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/whatif/", view(self.whatif_view), name="campaign_campaign_whatif"),
            path("<int:pk>/whatif/<int:run_id>/", view(self.whatif_run_view), name="campaign_campaign_whatif_run"),
        ]

    def _whatif_campaign(self, request, pk) -> Campaign:
        if not (self.has_view_permission(request) and request.user.has_perm(VIEW_PERMISSION)):
            raise PermissionDenied
        return get_object_or_404(Campaign, pk=pk)

    def whatif_view(self, request, pk):
        """GET: the form over the current configuration. POST `_preview`: the change is validated
        here (refusals shown on their fields) and its preview queued; answers with the run's page."""
        campaign = self._whatif_campaign(request, pk)
        status = 200
        if request.method == "POST":
            form = WhatIfForm(request.POST)
            if form.is_valid():
                try:
                    run = whatif_preview_start(campaign=campaign, changes=form.changes(), at=form.cleaned_data["at"], user=request.user)
                except ValidationError as exc:
                    for name, errors in exc.message_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                    status = 400
                else:
                    return redirect(_run_url(run))
            else:
                status = 400
        else:
            form = WhatIfForm(initial=WhatIfForm.initial_for(campaign))
        return self._whatif_render(request, campaign, form=form, status=status)

    def whatif_run_view(self, request, pk, run_id):
        """GET: a run's progress, then its outcome. POST `_apply` (needs `APPLY_PERMISSIONS`):
        apply a finished preview, with a note. POST `_restart`: queue a failed run, or one whose
        worker died, again (an apply's restart needs the apply permissions too)."""
        campaign = self._whatif_campaign(request, pk)
        run = get_object_or_404(WhatIfRun.objects.select_related("campaign", "created_by", "preview"), pk=run_id, campaign=campaign)
        user = request.user
        can_apply = user.has_perms(APPLY_PERMISSIONS)
        apply_form, status = None, 200
        if request.method == "POST" and "_apply" in request.POST:
            if not can_apply:
                raise PermissionDenied
            apply_form = WhatIfApplyForm(request.POST)
            if apply_form.is_valid():
                try:
                    applying = whatif_apply_start(preview_run=run, note=apply_form.cleaned_data["note"], user=user)
                except ValidationError as exc:
                    self.message_user(request, "; ".join(exc.messages), messages.ERROR)
                    apply_form, status = None, 400
                except RewardError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                    apply_form, status = None, 409
                else:
                    return redirect(_run_url(applying))
            else:
                status = 400
        elif request.method == "POST" and "_restart" in request.POST:
            if run.kind == WhatIfRun.Kind.APPLY and not can_apply:
                raise PermissionDenied
            try:
                whatif_run_restart(run=run, user=user)
            except RewardError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, _("The run was queued again."), messages.SUCCESS)
            return redirect(_run_url(run))
        elif request.method == "POST":
            status = 400
        return self._whatif_render(request, campaign, run=run, apply_form=apply_form, can_apply=can_apply, status=status)

    def _whatif_render(self, request, campaign, *, form=None, run=None, apply_form=None, can_apply=None, status=200):
        can_apply = request.user.has_perms(APPLY_PERMISSIONS) if can_apply is None else can_apply
        preview = applied = not_applicable = None
        if run is not None and run.state == WhatIfRun.State.FINISHED:
            if run.kind == WhatIfRun.Kind.PREVIEW:
                preview = whatif_preview_load(run=run)
                applying = run.applies.exclude(state=WhatIfRun.State.FAILED).first()
                if applying is not None:
                    not_applicable = format_html('{} <a href="{}">#{}</a>', _("This preview is already applied or being applied:"), _run_url(applying), applying.pk)
                elif run.finished_at < timezone.now() - PREVIEW_MAX_AGE:
                    not_applicable = _("This preview is more than an hour old; preview again.")
                elif config_fingerprint(campaign) != run.fingerprint:
                    not_applicable = _("The campaign configuration changed since this preview; preview again before applying.")
                elif apply_form is None and can_apply and preview.changes:
                    apply_form = WhatIfApplyForm()
            else:
                applied = _applied_view(run)
        if form is None:
            # A preview's page offers its own proposal to edit again; an apply's, the configuration now.
            form = WhatIfForm(initial=WhatIfForm.initial_for(campaign, run if run and run.kind == WhatIfRun.Kind.PREVIEW else None))
        if run is None:
            title = _("What-if preview: %(name)s") % {"name": campaign.name}
        elif run.kind == WhatIfRun.Kind.PREVIEW:
            title = _("What-if preview #%(run)s: %(name)s") % {"run": run.pk, "name": campaign.name}
        else:
            title = _("What-if apply #%(run)s: %(name)s") % {"run": run.pk, "name": campaign.name}
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "campaign": campaign,
            "form": form,
            "form_url": reverse("admin:campaign_campaign_whatif", args=[campaign.pk]),
            "run": run,
            "run_view": _run_view(run, request.user, can_apply) if run else None,
            "runs": [] if run else [{"run": r, "url": _run_url(r)} for r in whatif_runs_list(campaign=campaign)],
            "preview": preview,
            "view": _preview_view(preview) if preview else None,
            "apply_form": apply_form,
            "not_applicable": not_applicable if can_apply and preview and preview.changes else None,
            "applied": applied,
            "can_apply": can_apply,
            "history_url": reverse("admin:campaign_campaign_history", args=[campaign.pk]),
            "dashboard_url": reverse("admin:campaign_campaign_dashboard", args=[campaign.pk]),
        }
        return TemplateResponse(request, "admin/rewards/whatif.html", context, status=status)


def _run_url(run: WhatIfRun) -> str:
    return reverse("admin:campaign_campaign_whatif_run", args=[run.campaign_id, run.pk])


def _run_view(run: WhatIfRun, user, can_apply: bool) -> dict:
    """The run's state for the page: progress, error, and whether this user may restart it."""
    restartable = whatif_run_restartable(run=run)
    return {
        "kind": run.get_kind_display(),
        "state": run.get_state_display(),
        "finished": run.finished,
        "created": _local(run.created_at),
        "at": _local(run.at),
        "by": run.created_by.get_username() if run.created_by else "",
        "preview_url": _run_url(run.preview) if run.preview_id else None,
        "can_restart": restartable and (can_apply or run.kind == WhatIfRun.Kind.PREVIEW),
        "restartable": restartable,
    }


def _applied_view(run: WhatIfRun) -> dict:
    """An apply's outcome: the settings it changed, the re-judging, and the settlement it queued."""
    result = run.result
    settlement = whatif_apply_settlement(run=run)
    return {
        "changes": [
            {"label": str(Campaign._meta.get_field(c["field"]).verbose_name), "current": setting_html(c["field"], c["current"]), "proposed": setting_html(c["field"], c["proposed"])}
            for c in result["changes"]
        ],
        "verdicts_changed": result["verdicts_changed"],
        "settle_at": _local(parse_instant(result["settle_at"], "settle_at")),
        "settlement": settlement,
        "settlement_url": reverse("admin:rewards_settlementrun_change", args=[settlement.pk]) if settlement else None,
    }


def _local(instant) -> str:
    return screen_time(instant, seconds=True)


def _preview_view(preview: WhatIfPreview) -> dict:
    """What the template shows, with labels in the reader's language."""

    def rows(items):
        return [{"r": r, "kind": _kind_label(r.kind), "state": Reward.State(r.ledger_state).label if r.ledger_state else ""} for r in items]

    return {
        "chart": mark_safe(whatif_chart(preview)),  # noqa: S308 -- rewards.charts escapes every text
        "gainers": rows(preview.gainers),
        "losers": rows(preview.losers),
        "payability": rows(preview.payability_changes),
        "totals": [{"t": t, "kind": _kind_label(t.kind)} for t in preview.totals],
        "pools": [{"p": p, "kind": _kind_label(p.kind)} for p in preview.pools],
        "verdicts": [{"v": v, "current": _verdict_label(v.current), "proposed": _verdict_label(v.proposed)} for v in preview.verdict_changes],
        "changes": [{"c": c, "current": setting_html(c.field, c.current), "proposed": setting_html(c.field, c.proposed)} for c in preview.changes],
        "at": _local(preview.at),
    }


def setting_html(name: str, value) -> str:
    """A setting's value as ops read it (`setting_lines`: lists as lines, labels, "no limit"), one line a row."""
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in setting_lines(name, value))) or "—"


@admin.register(WhatIfRun)
class WhatIfRunAdmin(ReadOnlyAdmin):
    """Every what-if run, read-only: what was asked, by whom, how far it got and how it ended.
    Registered here, beside the pages that create the runs; each row links to its run's page."""

    list_display = ["id", "campaign", "kind", "state", "progress", "created_by", "created_at", "finished_at", "page"]
    list_filter = ["kind", "state", "campaign"]
    search_fields = ["=id", "created_by__username", "note", "error"]
    list_select_related = ["campaign", "created_by"]
    date_hierarchy = "created_at"
    fields = ["campaign", "kind", "state", "progress", "changes_text", "at", "fingerprint", "note", "preview", "error", "attempts", "created_by", "created_at", "started_at", "heartbeat_at", "finished_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj):
        return f"{obj.done:,} / {obj.total:,}" if obj.total is not None else f"{obj.done:,}"

    @admin.display(description=gettext_lazy("proposed changes"))
    def changes_text(self, obj):
        """Each setting the run changes, before and after, in words (the run keeps them as JSON)."""
        changes, against_now = whatif_run_changes(run=obj)
        if not changes:
            return _("No change: the proposed configuration is the current one.")
        caption = format_html("<caption>{}</caption>", _("Set against the configuration now: this run kept no outcome of its own.")) if against_now else ""
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((capfirst(c.label), setting_html(c.field, c.current), setting_html(c.field, c.proposed)) for c in changes),
        )  # fmt: skip
        return format_html(
            '<table data-testid="whatif-run-changes">{}<thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>',
            caption, _("setting"), _("current"), _("proposed"), rows,
        )  # fmt: skip

    @admin.display(description=gettext_lazy("page"))
    def page(self, obj):
        return format_html('<a href="{}">{}</a>', _run_url(obj), _("open the run"))

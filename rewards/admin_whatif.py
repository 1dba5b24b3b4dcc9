"""The what-if page of a campaign in the admin: a form over a copy of the configuration, the
settlement it would give beside the current one, and the one audited apply.

A thin shell over `rewards.services.whatif`. What is applied is exactly what was previewed: the
preview signs the changes, the configuration's fingerprint and the instant into the apply form,
so a value edited in the form after the preview cannot slip into the apply unseen.
"""

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.models import Campaign, Post
from rewards.charts import Bar, horizontal_bars
from rewards.exceptions import RewardError
from rewards.models import Reward
from rewards.services.whatif import APPLY_PERMISSIONS, WHATIF_FIELDS, WhatIfPreview, whatif_apply, whatif_preview
from traders.parsing import parse_instant

# Seeing a what-if shows what settlement would pay: the same right as reading settlement runs.
VIEW_PERMISSION = "rewards.view_settlementrun"
SIGNING_SALT = "rewards.whatif.apply"
TOKEN_MAX_AGE = 3600  # seconds: a preview older than this is made again before it is applied
CHART_ROWS = 15
GAIN_COLOUR = "#1a7f37"
LOSS_COLOUR = "#cf222e"
LINE_FIELDS = ("latin_terms", "cjk_terms")


class LinesField(forms.CharField):
    """A list of strings, one a line (the lexicon)."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 40})

    def to_python(self, value):
        return [line.strip() for line in (super().to_python(value) or "").splitlines() if line.strip()]


class TiersField(forms.CharField):
    """Tier amounts by rank, separated by commas, spaces or new lines."""

    def to_python(self, value):
        return [part for part in (super().to_python(value) or "").replace(",", " ").split() if part]


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
            model_field = Campaign._meta.get_field(name)
            if name in LINE_FIELDS:
                self.fields[name] = LinesField(label=model_field.verbose_name.capitalize(), help_text=gettext_lazy("One term a line."))
            elif name == "leaderboard_tiers":
                self.fields[name] = TiersField(label=model_field.verbose_name.capitalize(), widget=forms.TextInput(attrs={"size": 80}), help_text=gettext_lazy("Amounts for ranks 1, 2, 3, ..., separated by commas."))
            else:
                self.fields[name] = model_field.formfield()

    def clean_at(self):
        try:
            return parse_instant(self.cleaned_data["at"], "at")
        except ValueError:
            raise forms.ValidationError(_("Enter an instant with its offset, e.g. 2026-02-26T00:00:00+08:00.")) from None

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in WHATIF_FIELDS}

    @classmethod
    def initial_for(cls, campaign: Campaign) -> dict:
        initial = {"at": timezone.localtime().replace(microsecond=0).isoformat()}
        for name in WHATIF_FIELDS:
            value = getattr(campaign, name)
            initial[name] = "\n".join(value) if name in LINE_FIELDS else ", ".join(str(t) for t in value) if name == "leaderboard_tiers" else value
        return initial


class WhatIfApplyForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(label=gettext_lazy("Note (required, kept in the audit trail)"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_token(self):
        payload = _payload(self.cleaned_data["token"])
        if payload is None:
            raise forms.ValidationError(_("This preview cannot be read back, or is more than an hour old; preview again."))
        return payload


def _json_safe(value):
    return str(value) if isinstance(value, Decimal) else value


def _token(preview: WhatIfPreview, campaign: Campaign) -> str:
    """What was previewed, signed: the apply takes exactly this, for this campaign, within the hour."""
    return signing.dumps(
        {
            "campaign": campaign.pk,
            "changes": {c.field: _json_safe(c.proposed) for c in preview.changes},
            "fingerprint": preview.fingerprint,
            "at": preview.at.isoformat(),
        },
        salt=SIGNING_SALT,
    )


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
    """Adds the what-if page to the campaign's ModelAdmin (see `RewardsCampaignAdmin`)."""

    def whatif_urls(self):
        return [path("<int:pk>/whatif/", self.admin_site.admin_view(self.whatif_view), name="campaign_campaign_whatif")]

    def whatif_view(self, request, pk):
        """GET: the form over the current configuration. POST `_preview`: the comparison.
        POST `_apply` (needs `campaign.change_campaign`): apply what was previewed, with a note."""
        user = request.user
        if not (self.has_view_permission(request) and user.has_perm(VIEW_PERMISSION)):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        can_apply = user.has_perms(APPLY_PERMISSIONS)
        preview = applied = apply_form = None
        status = 200
        if request.method == "POST" and "_apply" in request.POST:
            if not can_apply:
                raise PermissionDenied
            apply_form = WhatIfApplyForm(request.POST)
            form = WhatIfForm(initial=WhatIfForm.initial_for(campaign))
            if apply_form.is_valid() and apply_form.cleaned_data["token"].get("campaign") != campaign.pk:
                self.message_user(request, _("This preview was made for another campaign; preview again."), messages.ERROR)
                apply_form, status = None, 400
            elif apply_form.is_valid():
                payload = apply_form.cleaned_data["token"]
                try:
                    applied = whatif_apply(
                        campaign=campaign, changes=payload["changes"], note=apply_form.cleaned_data["note"], user=user,
                        expected_fingerprint=payload["fingerprint"], at=parse_instant(payload["at"], "at"),
                    )  # fmt: skip
                except (RewardError, ValidationError) as exc:
                    self.message_user(request, "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc), messages.ERROR)
                    status = 409
                else:
                    self.message_user(request, _("The configuration was applied; a settlement as of %(at)s was queued.") % {"at": _local(applied.settle_at)}, messages.SUCCESS)
                    form = WhatIfForm(initial=WhatIfForm.initial_for(applied.campaign))
                apply_form = None
            else:
                status = 400
                payload = _payload(request.POST.get("token", ""))
                if payload is not None and payload.get("campaign") == campaign.pk:
                    # The note was missing: show the same preview again beside the error.
                    preview = whatif_preview(campaign=campaign, changes=payload["changes"], at=parse_instant(payload["at"], "at"))
        elif request.method == "POST":
            form = WhatIfForm(request.POST)
            if form.is_valid():
                try:
                    preview = whatif_preview(campaign=campaign, changes=form.changes(), at=form.cleaned_data["at"])
                except ValidationError as exc:
                    for name, errors in exc.message_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                    status = 400
                else:
                    apply_form = WhatIfApplyForm(initial={"token": _token(preview, campaign)}) if can_apply and preview.changes else None
            else:
                status = 400
        else:
            form = WhatIfForm(initial=WhatIfForm.initial_for(campaign))
        context = {
            **self.admin_site.each_context(request),
            "title": _("What-if preview: %(name)s") % {"name": campaign.name},
            "opts": self.model._meta,
            "campaign": campaign,
            "form": form,
            "preview": preview,
            "view": _preview_view(preview) if preview else None,
            "apply_form": apply_form,
            "applied": applied,
            "can_apply": can_apply,
            "history_url": reverse("admin:campaign_campaign_history", args=[campaign.pk]),
            "dashboard_url": reverse("admin:campaign_campaign_dashboard", args=[campaign.pk]),
        }
        return TemplateResponse(request, "admin/rewards/whatif.html", context, status=status)


def _payload(token: str):
    try:
        return signing.loads(token, salt=SIGNING_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one too
        return None


def _local(instant) -> str:
    return timezone.localtime(instant).strftime("%Y-%m-%d %H:%M:%S %Z")


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
        "changes": [{"c": c, "current": _show(c.current), "proposed": _show(c.proposed)} for c in preview.changes],
        "at": _local(preview.at),
    }


def _show(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)

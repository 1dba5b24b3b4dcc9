"""The admin of what core keeps: import runs and their rejected records, API tokens; and the
read-only admin every app's admin of system-written records takes."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.api.tokens import api_token_create, api_tokens_revoke
from core.models import ApiToken, ImportRun, RejectedRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the system writes (audit rows, computed items, background runs): ops read them,
    nobody edits them here. Every app's admin of such records takes it from here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


STATE_COLOURS = {"queued": "#57606a", "running": "#0969da", "finished": "#1a7f37", "failed": "#cf222e", "interrupted": "#9a6700"}
REJECTED_SHOWN = 100  # rejected rows listed on a run's page; the rejected records' list has them all


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """A run's page shows its state, a progress bar (lines done of the file's lines; it refreshes
    itself while the run is queued or running), its counts and its first rejected rows."""

    list_display = ["id", "kind", "source", "filename", "started_at", "state_badge", "total", "accepted", "rejected_count", "created_by"]
    list_filter = ["kind", "source", "status"]
    search_fields = ["filename", "created_by", "=id"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in ImportRun._meta.fields]
    change_form_template = "admin/core/importrun/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def can_restart(self, request, obj) -> bool:
        """Whether the page offers to start the run again; the campaign app's admin, which owns
        the task that imports files, says yes for an interrupted file import."""
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, unquote(object_id))
        if run is not None:
            extra_context = {**(extra_context or {}), **self._run_context(request, run)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _run_context(self, request, run):
        state = run.state
        done = run.last_line
        if state == "finished" and run.expected_lines:
            done = run.expected_lines  # blank lines at the end of the file are never a record's
        rejected_url = reverse("admin:core_rejectedrecord_changelist") + "?" + urlencode({"run__id__exact": run.pk})
        return {
            "run_state": state,
            "run_state_label": run.get_state_display(),
            "run_state_colour": STATE_COLOURS[state],
            "progress_done": min(done, run.expected_lines) if run.expected_lines else done,
            "progress_total": run.expected_lines,
            "progress_unit": _("lines"),
            "progress_state": run.get_state_display(),
            "progress_finished": state not in ("queued", "running"),
            "rejected_rows": list(run.rejected_records.order_by("line", "id")[:REJECTED_SHOWN]),
            "rejected_url": rejected_url,
            "can_restart": self.can_restart(request, run),
            "restart_url": reverse("admin:core_importrun_restart", args=[run.pk]) if self.can_restart(request, run) else "",
        }

    @admin.display(description=_("state"), ordering="status")
    def state_badge(self, obj):
        state = obj.state
        return format_html('<b style="color:{}">{}</b>', STATE_COLOURS[state], obj.get_state_display())

    @admin.display(description=_("rejected"), ordering="rejected")
    def rejected_count(self, obj):
        if not obj.rejected:
            return 0
        return format_html('<b style="color:#cf222e">{}</b>', obj.rejected)


@admin.register(RejectedRecord)
class RejectedRecordAdmin(admin.ModelAdmin):
    list_display = ["run", "line", "reason", "raw_excerpt", "created_at"]
    list_filter = ["run__kind"]
    search_fields = ["reason", "raw"]
    list_select_related = ["run"]
    date_hierarchy = "created_at"
    readonly_fields = ["run", "line", "reason", "raw", "created_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("record"))
    def raw_excerpt(self, obj):
        return obj.raw if len(obj.raw) <= 80 else obj.raw[:77] + "..."


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple, label=_("scopes"))

    class Meta:
        model = ApiToken
        fields = ["name", "user", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Ops create tokens here and see the secret once, in the message after saving; afterwards only
    its prefix is known. A token is revoked, never deleted, so the audit trail keeps its name."""

    form = ApiTokenForm
    list_display = ["name", "prefix", "user", "scope_list", "created_at", "last_used_at", "expires_at", "status"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "user"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    # A searchable select of users (the User admin's search_fields: username, names, email), not a raw id.
    autocomplete_fields = ["user"]
    date_hierarchy = "created_at"
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at", "revoked_at", "revoked_by"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # The owner is fixed at creation: moving a token to another user would change its powers silently.
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, secret = api_token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
            created_by=request.user.get_username(),
        )
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = token.pk, token.prefix, token.key_hash, token.created_at
        self.message_user(
            request,
            format_html(_("The secret of {} is <code>{}</code>. Copy it now: it is not stored and will not be shown again."), token.name, secret),
            messages.WARNING,
        )

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        n = api_tokens_revoke(token_ids=queryset.values_list("pk", flat=True), by=request.user.get_username())
        self.message_user(request, _("%(n)d token(s) revoked.") % {"n": n}, messages.SUCCESS)

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        """Each scope by its label (what it lets the token do), one a line; stored as codes."""
        labels = [ApiToken.Scope(scope).label if scope in ApiToken.Scope.values else scope for scope in obj.scopes or []]
        return format_html_join(mark_safe("<br>"), "{}", ((label,) for label in labels)) or "—"

    @admin.display(description=_("status"), ordering="revoked_at")
    def status(self, obj):
        if obj.revoked_at:
            return format_html('<b style="color:#cf222e">{}</b>', _("revoked"))
        if obj.expires_at and obj.expires_at <= timezone.now():
            return format_html('<b style="color:#9a6700">{}</b>', _("expired"))
        return format_html('<b style="color:#1a7f37">{}</b>', _("active"))

"""What every app keeps and none owns: import runs with their rejected records, and API tokens.

The tables keep the names they had when these models lived in `traders` (`Meta.db_table`): the
move changed no row (core/migrations/0001 and traders/migrations/0004).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportRun(models.Model):
    """One import of one file or batch, through whichever door it came (command, admin, API, feed).

    Keeps counts and the rejected records, so ops can see what was not taken and why. The counts
    and `last_line` are saved with each chunk, in the chunk's transaction: a run that was killed
    shows what it committed, and continuing it skips the lines up to `last_line`. Which campaign a
    run brought records into is the campaign app's to say (`campaign.CampaignImport`).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        FINISHED = "finished", _("finished")
        FAILED = "failed", _("failed")

    class Kind(models.TextChoices):
        REGISTRATIONS = "registrations", _("registrations")
        SIGNUPS = "signups", _("sign-ups")
        TRADER_STATS = "trader_stats", _("trading stats")
        POSTS = "posts", _("posts")
        REFERENCE_TEXTS = "reference_texts", _("reference texts")

    class Source(models.TextChoices):
        COMMAND = "command", _("command")
        ADMIN = "admin", _("admin")
        API = "api", _("API")
        WEBHOOK = "webhook", _("webhook")
        FEED = "feed", _("feed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    total = models.PositiveIntegerField(_("records"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    created_by = models.CharField(_("by"), max_length=150, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The file as stored (the admin's uploads under MEDIA_ROOT/imports/, a command's own path):
    # what a queued or interrupted run reads. Empty for batches (API, webhook, feed).
    file_path = models.CharField(_("stored file"), max_length=500, blank=True)
    expected_lines = models.PositiveIntegerField(_("lines in the file"), null=True, blank=True)
    last_line = models.PositiveIntegerField(_("last line committed"), default=0)
    # Renewed with every chunk; a run unfinished past it was interrupted and may be taken again.
    lease_until = models.DateTimeField(_("worked on until"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        db_table = "traders_importrun"
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.accepted}/{self.total})"

    @property
    def leased(self) -> bool:
        return self.lease_until is not None and self.lease_until > timezone.now()

    @property
    def state(self) -> str:
        """queued, running, finished, failed, or interrupted (unfinished, and nobody works on it)."""
        if self.finished_at is not None:
            return "failed" if self.error else "finished"
        if self.leased:
            return "running"
        if self.status == self.Status.QUEUED:
            return "queued"
        return "failed" if self.status == self.Status.FAILED else "interrupted"

    def get_state_display(self) -> str:
        return RUN_STATES[self.state]

    @property
    def restartable(self) -> bool:
        """Whether its file can be started again: unfinished, stored, and nobody works on it."""
        return self.finished_at is None and bool(self.file_path) and not self.leased


RUN_STATES = {
    "queued": _("queued"),
    "running": _("running"),
    "finished": _("finished"),
    "failed": _("failed"),
    "interrupted": _("interrupted"),
}


class RejectedRecord(models.Model):
    """A record an import refused, kept whole with the line it came from and the reason."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="rejected_records", verbose_name=_("import run"))
    line = models.PositiveIntegerField(_("line"))
    reason = models.TextField(_("reason"))
    raw = models.TextField(_("record as received"))
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["run_id", "line", "id"]
        db_table = "traders_rejectedrecord"
        verbose_name = _("rejected record")
        verbose_name_plural = _("rejected records")

    def __str__(self):
        return _("line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}


class ApiToken(models.Model):
    """A credential for the REST API, owned by a user whose Django permissions it acts with.

    Only the SHA-256 of the secret is stored; the secret itself is shown once, when ops create the
    token in the admin. `prefix` (the part of the secret before the dot) finds the row without
    comparing hashes across the table. A revoked token stays, so the audit trail keeps its name.
    """

    class Scope(models.TextChoices):
        INGEST = "ingest", _("ingest: push registrations, sign-ups, posts, trading stats")
        READ = "read", _("read: rewards, settlement runs, payout reports")
        OPS = "ops", _("ops: read, approve, mark paid, settle")

    name = models.CharField(_("name"), max_length=100, help_text=_("Who or what uses it, e.g. 'CRM sync'."))
    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("acts as"))
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("SHA-256 of the secret"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.CharField(_("revoked by"), max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "traders_apitoken"
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app uses and none owns: import runs, API tokens and the DRF plumbing, the database
    adapter, money and time helpers. It imports no other app of ours (DESIGN.md)."""

    name = "core"
    verbose_name = _("Core")

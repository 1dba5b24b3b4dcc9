"""The admin app with this project's site (config/admin_site.py) as `admin.site`: every
`@admin.register` and `admin.site.urls` then use it, and no app's admin module has to change.

And django-axes under a name: its app has no verbose_name, so the admin's sidebar and
breadcrumbs showed "Axes" in every language."""

from axes.apps import AppConfig as AxesConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class OpsAdminConfig(AdminConfig):
    default_site = "config.admin_site.OpsAdminSite"

    def ready(self):
        super().ready()  # autodiscovery: every app's admin module has registered its admins
        from config import admin_thirdparty  # noqa: F401  (names the packages' unnamed columns)


class LoginProtectionConfig(AxesConfig):
    verbose_name = _("Login protection")

"""The admin app with this project's site (config/admin_site.py) as `admin.site`: every
`@admin.register` and `admin.site.urls` then use it, and no app's admin module has to change."""

from django.contrib.admin.apps import AdminConfig


class OpsAdminConfig(AdminConfig):
    default_site = "config.admin_site.OpsAdminSite"

"""The beat schedule's admin, with an explicit permission on each of its actions.

django-celery-beat's own actions (enable, disable, toggle, run now) name no permission, so a staff
user who may only view the schedule could switch off the daily settlement or run it at once.
Here each needs the change permission on periodic tasks; the behaviour is the library's. Its
columns that beat leaves unnamed (an attribute name, a plain-string verbose_name) are named here,
in the page's language.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask

from rewards.admin_display import titled_filter

TASK_TO_RUN = _("task to run")
CRONTAB_IN_WORDS = _("crontab in words")


class GuardedPeriodicTaskAdmin(PeriodicTaskAdmin):
    list_filter = [("task", titled_filter(TASK_TO_RUN, base=admin.AllValuesFieldListFilter)) if name == "task" else name for name in PeriodicTaskAdmin.list_filter]

    @admin.display(description=_("schedule"))
    def scheduler(self, obj):
        return obj.scheduler

    @admin.display(description=CRONTAB_IN_WORDS)
    def crontab_translation(self, obj):
        return super().crontab_translation(obj)

    @admin.action(description=_("Enable selected tasks"), permissions=["change"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description=_("Disable selected tasks"), permissions=["change"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description=_("Toggle activity of selected tasks"), permissions=["change"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description=_("Run selected tasks"), permissions=["change"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, GuardedPeriodicTaskAdmin)

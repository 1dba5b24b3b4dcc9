"""The packages' admin pages with every column and field named in the language of the page.

django-celery-beat and django-axes name a few columns in a way no catalogue can translate: a
method or property without a description shows its attribute name ("Scheduler", "Human
readable", "Status"), and beat's task field has a verbose_name that is a plain string ("Task
Name"). Each such admin is replaced here by a subclass that gives those columns a name; what the
pages show and do stays the packages'. The periodic tasks' own admin is named in
`rewards.admin_schedule`, with its permissions. The packages' translatable messages their own catalogues lack are in
locale_thirdparty/. Imported by `OpsAdminConfig.ready` once every admin module has registered.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import ClockedScheduleAdmin, CrontabScheduleAdmin, IntervalScheduleAdmin, PeriodicTaskInline, SolarScheduleAdmin
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule

from rewards.admin_schedule import CRONTAB_IN_WORDS, TASK_TO_RUN


class NamedPeriodicTaskInline(PeriodicTaskInline):
    """The periodic tasks of a schedule, with the task column named (beat's field is not)."""

    fields = ("name", "task_to_run", "args", "kwargs")
    readonly_fields = fields

    @admin.display(description=TASK_TO_RUN)
    def task_to_run(self, obj):
        return obj.task


class NamedCrontabScheduleAdmin(CrontabScheduleAdmin):
    inlines = [NamedPeriodicTaskInline]

    @admin.display(description=CRONTAB_IN_WORDS)
    def human_readable(self, obj):
        return obj.human_readable


class NamedClockedScheduleAdmin(ClockedScheduleAdmin):
    inlines = [NamedPeriodicTaskInline]


class NamedIntervalScheduleAdmin(IntervalScheduleAdmin):
    inlines = [NamedPeriodicTaskInline]


class NamedSolarScheduleAdmin(SolarScheduleAdmin):
    inlines = [NamedPeriodicTaskInline]


class NamedAccessAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj):
        return super().status(obj)


for model, model_admin in (
    (CrontabSchedule, NamedCrontabScheduleAdmin),
    (ClockedSchedule, NamedClockedScheduleAdmin),
    (IntervalSchedule, NamedIntervalScheduleAdmin),
    (SolarSchedule, NamedSolarScheduleAdmin),
    (AccessAttempt, NamedAccessAttemptAdmin),
):
    if admin.site.is_registered(model):  # axes registers its admins only with AXES_ENABLE_ADMIN
        admin.site.unregister(model)
        admin.site.register(model, model_admin)

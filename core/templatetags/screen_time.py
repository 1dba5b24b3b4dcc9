"""`{{ instant|screen_time }}` ("2026-02-26 00:00 UTC+8") and `{{ instant|screen_time:"seconds" }}`."""

from django import template

from core.screen_time import screen_time as format_screen_time

register = template.Library()


@register.filter(name="screen_time")
def screen_time(instant, detail=""):
    if not instant:
        return ""
    return format_screen_time(instant, seconds=detail == "seconds")

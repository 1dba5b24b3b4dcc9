"""The project's URLs plus one trivial view, the load step's baseline (same server, same middleware)."""

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/ping/", ping, name="bench-ping"), *project_urlpatterns]

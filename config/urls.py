from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/c/star-lead-traders-2/", permanent=False)),
    # Browsers ask for /favicon.ico on pages that link none (the admin, the API). The static name is
    # looked up per request (hashed in production) and the redirect is temporary, so a new icon
    # is never hidden behind a cached one.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("rewards/favicon.ico"), permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("campaign.urls")),
    path("api/", include("config.api")),
    path("", include("rewards.urls")),
]

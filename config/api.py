"""URL root of the REST API (/api/)."""

urlpatterns = []

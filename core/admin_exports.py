"""The admin door of the list exports (issue 18): "Export CSV" and "Export XLSX" on a ModelAdmin's
list take the rows it lists, with its filters, search and order, to a spreadsheet.

Why not django-import-export, which the issue names: its XLSX writes a text starting with "=" as
a live formula, and its escape setting (IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT) deletes that "="
(mangling the text), leaves "+", "-" and "@" alone, and turns every cell, money included, into
text; its default export page (selectable fields) has an inline event handler that our
Content-Security-Policy refuses; it builds the whole list in memory; and the enrolment page is not
a changelist. Every file here is written by `core.spreadsheets`, as the payout report and the
status links are.
"""

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from core.spreadsheets import EXPORT_FORMATS, SpreadsheetFile

EXPORT_LABELS = {"csv": _("Export CSV"), "xlsx": _("Export XLSX")}


def spreadsheet_response(export: SpreadsheetFile) -> HttpResponse:
    """The file as a download: a CSV streamed as it is written, an XLSX whole. Behind
    `admin_view`, whose never_cache keeps the list out of every cache."""
    headers = {"Content-Disposition": f'attachment; filename="{export.name}"'}
    if isinstance(export.content, bytes):
        return HttpResponse(export.content, content_type=export.content_type, headers=headers)
    return StreamingHttpResponse(export.content, content_type=export.content_type, headers=headers)


def export_links(url_name: str, *, args=(), query: str = "") -> list[tuple[str, str, str]]:
    """(format, label, URL) of each export, the query string kept (the list's filters)."""
    return [(fmt, EXPORT_LABELS[fmt], reverse(url_name, args=[*args, fmt]) + (f"?{query}" if query else "")) for fmt in EXPORT_FORMATS]


class ChangeListExportMixin:
    """A ModelAdmin's list as CSV or XLSX, for whoever may view the list: `export/<fmt>/` beside
    the list, with the list's query string. The rows are Django's own ChangeList query, so the file
    holds exactly what the list's filters, search and order select (every page of it).

    The admin says what a row is in `changelist_export(queryset=..., fmt=...)`, one selector call.
    Its change_list template includes "admin/spreadsheet_exports.html" in object-tools-items.
    """

    def changelist_export(self, *, queryset, fmt: str) -> SpreadsheetFile:
        raise NotImplementedError

    def _export_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_export"

    def get_urls(self):
        export = path("export/<str:fmt>/", self.admin_site.admin_view(self.changelist_export_view), name=self._export_url_name())
        return [export, *super().get_urls()]

    def changelist_export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in EXPORT_FORMATS:
            raise Http404
        if PAGE_VAR in request.GET:  # every page goes in the file; a page past the end would be an error
            request.GET = request.GET.copy()
            del request.GET[PAGE_VAR]
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            # A filter the list does not know: the list itself says so (as Django does, ?e=1).
            return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist") + f"?{ERROR_FLAG}=1")
        return spreadsheet_response(self.changelist_export(queryset=changelist.queryset, fmt=fmt))

    def changelist_view(self, request, extra_context=None):
        query = request.GET.copy()
        for name in (PAGE_VAR, ERROR_FLAG):  # the file holds every page
            query.pop(name, None)
        links = export_links(f"admin:{self._export_url_name()}", query=query.urlencode()) if self.has_view_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "spreadsheet_exports": links})

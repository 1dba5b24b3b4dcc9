from rest_framework.pagination import LimitOffsetPagination


class ApiLimitOffsetPagination(LimitOffsetPagination):
    """?limit=&offset=, PAGE_SIZE by default and never more than 1000 rows a page."""

    max_limit = 1000

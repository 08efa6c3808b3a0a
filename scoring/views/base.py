"""What every page view shares: the permission decorator and paging helpers."""


from __future__ import annotations

import logging
from functools import wraps

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.functional import cached_property

logger = logging.getLogger("nasovcf.views")




def requires(*permissions: str):
    """Refuse with 403 unless the user has every permission; the URL-walking tests read
    `view.required_permissions` to know which pages write."""

    def decorate(view):
        checked = permission_required(permissions, raise_exception=True)(view)

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            return checked(request, *args, **kwargs)

        wrapper.required_permissions = permissions
        return wrapper

    return decorate


class KnownCountPaginator(Paginator):
    """A paginator told its count, counted (or kept) by the view."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self) -> int:
        return self.known_count


def _path_with_pk(name: str) -> str:
    """A detail page's path with {} where the primary key goes: reversed once per page, not per row."""
    head, _, tail = reverse(name, args=[0]).rpartition("/0/")
    return f"{head}/{{}}/{tail}"



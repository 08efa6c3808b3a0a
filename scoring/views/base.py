"""What every page view shares: the permission decorator."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import permission_required


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

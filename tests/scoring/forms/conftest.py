"""Helpers the form tests share: the forms are built directly, without a request."""


def error_codes(form) -> dict[str, list[str]]:
    """Each field's error codes (`__all__` for the form's own), as the API and the tests name them."""
    return {field: [error.code for error in errors] for field, errors in form.errors.as_data().items()}

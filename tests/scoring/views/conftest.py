"""Helpers the page tests share: the response's text, the pages' URLs, many started fractures."""

from decimal import Decimal

from scoring import services
from scoring.models import Visit
from tests.conftest import started

D = Decimal


def text(response) -> str:
    return response.content.decode()


def confirmed_post(client, url, data):
    """POST, and where the page asks to confirm (a change of outcome, a likely duplicate), POST
    again as the person would by saving again: the second response."""
    response = client.post(url, data)
    if response.status_code == 200 and "form" in (response.context or {}):
        confirmed = response.context["form"].data.get("confirmed")
        if confirmed:
            return client.post(url, {**data, "confirmed": confirmed})
    return response


def new_assessment_url(patient):
    return f"/patients/{patient.pk}/assessments/new/"


def visit_url(fracture):
    return f"/assessments/{fracture.pk}/visits/new/"


def _many(make_patient, make_fracture, prefix, count):
    for n in range(count):
        fracture = started(make_patient, make_fracture, f"{prefix}{n:04d}", 20 + n % 200)
        if n % 3 == 0:
            Visit.objects.create(
                fracture=fracture,
                kind="1m",
                visit_date=fracture.assessment_date,
                vas_pain=D(3),
                created_by=fracture.created_by,
                updated_by=fracture.created_by,
            )
            services.refresh_course(fracture)

"""The print report as Chromium prints it to A4 (issue 11): one page for a fracture with four
visits, naming the patient, both readers, the Genant grade and the OF class; a longer report
repeats the patient's MRN and name at the top of every page."""

import datetime
import re
import unicodedata
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from scoring import services
from scoring.models import Fracture, Patient, Visit

from .pdf_text import page_count, pdf_page_texts

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def squeezed(text: str) -> str:
    """Text without its spaces (the PDF's text runs do not keep every space) and ligatures
    ("ﬁ") spelt out."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def reported_fracture(user, *, unscheduled_visits=1):
    """Assessed 200 days ago, read twice (the readers differ), with its 1-, 3- and 6-month visits
    (the 3-month film read twice) and `unscheduled_visits` unscheduled ones."""
    patient = Patient.objects.create(
        mrn="PRN001",
        name="Maria Elisabeth Example-Whitfield",
        sex="F",
        date_of_birth=datetime.date(1953, 6, 1),
        created_by=user,
        updated_by=user,
    )
    start = timezone.localdate() - datetime.timedelta(days=200)
    fracture = Fracture(
        patient=patient,
        assessment_date=start,
        treatment_start_date=start,
        level="T11",
        low_energy_trauma=True,
        fracture_type="compression",
        t2_signal="diffuse_low",
        bmd_t_score=D("-3.6"),
        treatment="conservative",
        of_class="OF3",
        vas_pain=D(8),
        odi_percent=D(62),
        # Reader 1 measured six heights (VHL 25.0 %), reader 2 typed 31.0 %.
        fractured_anterior_mm=D("20.0"),
        fractured_posterior_mm=D("25.0"),
        cranial_anterior_mm=D("30"),
        cranial_posterior_mm=D("30"),
        caudal_anterior_mm=D("30"),
        caudal_posterior_mm=D("30"),
        first_reader_name="Dr Ada Lovelace-Reader",
        first_vhl_percent=D("25.0"),
        first_kyphosis_angle_deg=D("17.0"),
        second_reader_name="Dr Bartholomew Second",
        second_vhl_entered_percent=D("31.0"),
        second_vhl_percent=D("31.0"),
        second_kyphosis_angle_deg=D("22.2"),
        vhl_percent=D("28.0"),
        kyphosis_angle_deg=D("19.6"),
        created_by=user,
        updated_by=user,
    )
    fracture.apply_genant()
    fracture.rescore()
    fracture.save()
    visits = [
        ("1m", 30, {"vas_pain": D(6), "odi_percent": D(48), "kyphosis_angle_deg": D("21.0")}),
        (
            "3m",
            90,
            {
                "vas_pain": D(4),
                "odi_percent": D(36),
                "first_reader_name": "Dr Ada Lovelace-Reader",
                "first_kyphosis_angle_deg": D("22.0"),
                "second_reader_name": "Dr Bartholomew Second",
                "second_kyphosis_angle_deg": D("23.1"),
                "kyphosis_angle_deg": D("22.55"),
                "first_vhl_percent": D("30.0"),
                "vhl_entered_percent": D("30.0"),
                "second_vhl_percent": D("31.0"),
                "second_vhl_entered_percent": D("31.0"),
                "vhl_percent": D("30.5"),
            },
        ),
        (
            "6m",
            180,
            {
                "vas_pain": D(3),
                "odi_percent": D(30),
                "kyphosis_angle_deg": D("29.8"),
                "bone_union": "non_union",
                "vacuum_cleft_mri": True,
                "notes": "Pain on standing; brace continued.",
            },
        ),
    ]
    visits += [
        ("unscheduled", 185 + n, {"vas_pain": D(5), "notes": "Fall at home."}) for n in range(unscheduled_visits)
    ]
    for kind, day, fields in visits:
        Visit.objects.create(
            fracture=fracture,
            kind=kind,
            visit_date=start + datetime.timedelta(days=day),
            created_by=user,
            updated_by=user,
            **fields,
        )
    services.refresh_course(fracture)
    return fracture


def printed(page, fracture) -> bytes:
    page.goto(f"/assessments/{fracture.pk}/print/")
    expect(page.get_by_test_id("score-total")).to_be_visible()
    return page.pdf(format="A4")


def test_a_fracture_with_four_visits_prints_on_one_a4_page_with_what_a_report_needs(signed_in_page, django_user_model):
    user = django_user_model.objects.get()
    user.first_name, user.last_name = "Anna", "Smith"
    user.save()
    fracture = reported_fracture(user)
    pdf = printed(signed_in_page, fracture)
    assert page_count(pdf) == 1
    (text,) = pdf_page_texts(pdf)
    text = squeezed(text)
    for words in [
        "PRN001",
        "Maria Elisabeth Example-Whitfield",
        "NASOVCF fracture report",
        # Both readers, their own VHL and KA, and the mean that was scored.
        "Reader 1: Dr Ada Lovelace-Reader: VHL 25.0 % from six heights, KA 17.0°",
        "Reader 2: Dr Bartholomew Second: VHL 31.0 % typed, KA 22.2°",
        "Mean scored (not rounded): VHL 28.0 %, KA 19.6°",
        "Readers differ by more than 5 % or 5°",
        # The 3-month film's two readers.
        "Mean compared (not rounded): VHL 30.5 %, KA 22.55°",
        "Genant grade (height-based approximation)",
        "grade 2 (largest height reduction 33.3 %)",
        "AO Spine-DGOU class",
        "OF 3: deformation of one endplate",
        "1 month",
        "3 months",
        "6 months",
        "Unscheduled",
        "Non-union",
        "Printed",
        "by Anna Smith",
    ]:
        assert squeezed(words) in text, words


def test_a_longer_report_names_the_patient_at_the_top_of_every_page(signed_in_page, django_user_model):
    fracture = reported_fracture(django_user_model.objects.get(), unscheduled_visits=25)
    pdf = printed(signed_in_page, fracture)
    texts = pdf_page_texts(pdf)
    assert page_count(pdf) == len(texts) >= 2
    for number, text in enumerate(texts, start=1):
        # The running head opens every page.
        assert squeezed(text).startswith(squeezed("PRN001 · Maria Elisabeth Example-Whitfield · T11")), number


def test_the_report_prints_in_chinese_on_one_a4_page_with_chinese_text(signed_in_page, django_user_model, live_server):
    """Issue 16: a clinician in Shaoxing prints a Chinese report. The PDF's text holds the Chinese
    (glyphs drawn from a CJK font: a box has no text to extract), and the report still fits a page."""
    from django.conf import settings
    from django.utils import translation

    def zh(message: str) -> str:
        with translation.override("zh-hans"):
            return translation.gettext(message)

    fracture = reported_fracture(django_user_model.objects.get())
    signed_in_page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}]
    )
    pdf = printed(signed_in_page, fracture)
    assert page_count(pdf) == 1
    (text,) = pdf_page_texts(pdf)
    text = squeezed(text)
    # (Not 骨不连: the font's ToUnicode map gives 骨 as the CJK radical ⻣, U+2EE3, which looks the
    # same on paper but is another character in the extracted text.)
    for words in [
        "PRN001",
        "Maria Elisabeth Example-Whitfield",
        zh("Unscheduled"),
        zh("Decision support: the clinician decides."),
    ]:
        assert squeezed(words) in text, words
    assert re.search(r"[\u4e00-\u9fff]{4}", text), "no Chinese text in the PDF"
    assert "Non-union" not in text

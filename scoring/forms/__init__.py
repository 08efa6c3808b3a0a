"""Validation for the HTML pages, the JSON API and the import alike: one set of fields, ranges and
messages, one module per page (layouts apart, in `layouts`).

`ScoreForm` holds what the score reads and is what `POST /api/score/` validates; the assessment
page's `AssessmentForm` is the same form with the fracture's own details added, so the page and
the API can never disagree (spec §7).
"""

from .archive import ArchiveForm as ArchiveForm
from .assessment import AssessmentForm
from .fields import HEIGHT_FORM_FIELDS, HEIGHT_LABELS, VHL_BOTH, VHL_COMPUTED_OUT_OF_RANGE, VHL_MISSING
from .patient import PatientForm, PatientSearchForm
from .score import CalculatorForm, ScoreForm
from .treatment import TreatmentChangeForm
from .visit import VisitForm

__all__ = [
    "HEIGHT_FORM_FIELDS",
    "HEIGHT_LABELS",
    "VHL_BOTH",
    "VHL_COMPUTED_OUT_OF_RANGE",
    "VHL_MISSING",
    "AssessmentForm",
    "CalculatorForm",
    "PatientForm",
    "PatientSearchForm",
    "ScoreForm",
    "TreatmentChangeForm",
    "VisitForm",
]

"""Lateral films: adding one (upload or PACS), its page, the measuring viewer, the image itself.

Images are patient data: every view here needs a signed-in user with the film permissions of their
role, and every image answer is `no-store` (nothing kept in a shared or browser cache).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nasovcf_site.i18n import words
from nasovcf_site.private_files import private_directory

from .. import films, pacs, presenters, radiograph, services
from ..forms.archive import ArchiveForm
from ..forms.films import FilmUploadForm, PacsPickForm, ReadingForm
from ..locking import StaleEdit
from ..models import Film, FilmReading, FilmSource, Fracture, Patient
from .base import requires
from .patients import archived_refusal, refusal_if_archived

logger = logging.getLogger("nasovcf.films")

PENDING = "film_pending"  # the session's film awaiting the user's word on a patient mismatch
READER_COLOURS = {FilmReading.Reader.FIRST: "#0d6efd", FilmReading.Reader.SECOND: "#d63384"}


def _fracture(pk: int) -> Fracture:
    return get_object_or_404(Fracture.objects.select_related("patient"), pk=pk)


def _film(pk: int) -> Film:
    return get_object_or_404(
        Film.objects.active().select_related("patient", "fracture__patient", "visit", "created_by"), pk=pk
    )


def _visit_of(request, fracture: Fracture | None):
    """The visit named by ?visit= / the form's `visit` (one of this fracture's), or None: baseline."""
    value = request.POST.get("visit") or request.GET.get("visit")
    if not value or fracture is None:
        return None
    if not str(value).isdigit():
        raise Http404("No such visit.")
    return get_object_or_404(fracture.visits.all(), pk=int(value))


def _private_copy(chunks) -> Path:
    """The incoming bytes in a private temporary file (0600 in a 0700 directory under FILMS_DIR)."""
    incoming = Path(settings.FILMS_DIR) / "incoming"
    private_directory(incoming)
    descriptor, name = tempfile.mkstemp(dir=incoming)  # mkstemp makes it 0600
    with os.fdopen(descriptor, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return Path(name)


def _context(patient: Patient, fracture: Fracture | None, visit=None, **more) -> dict:
    return {"patient": patient, "fracture": fracture, "visit": visit, **more}


def _back(patient: Patient, fracture: Fracture | None):
    return fracture or patient


def _take_film(request, patient, fracture, visit, source_path: Path, *, source: str, name: str):
    """Decode the film; keep it, or ask first when its DICOM names another patient. The answer."""
    try:
        key, decoded = services.ingest_film(source=source_path, declared_name=name)
    finally:
        source_path.unlink(missing_ok=True)
    mismatch = services.film_identity_mismatch(patient, decoded)
    if mismatch:
        previous = request.session.get(PENDING)
        if previous:
            films.remove(Path(settings.FILMS_DIR) / previous["key"])
        request.session[PENDING] = {
            "key": str(key),
            "patient": patient.pk,
            "fracture": fracture.pk if fracture else None,
            "visit": visit.pk if visit else None,
            "source": source,
            "name": name,
            "decoded": decoded.as_dict(),
            "mismatch": mismatch,
        }
        return render(
            request, "scoring/film_confirm.html", _context(patient, fracture, visit, mismatch=mismatch, key=key)
        )
    try:
        film = services.add_film(
            patient_pk=patient.pk,
            fracture_pk=fracture.pk if fracture else None,
            visit_pk=visit.pk if visit else None,
            key=key,
            decoded=decoded,
            source=source,
            original_name=name,
            mismatch_confirmed="",
            user=request.user,
        )
    except services.ArchivedRecord as refused:
        films.remove(Path(settings.FILMS_DIR) / str(key))
        return archived_refusal(request, refused)
    except BaseException:
        films.remove(Path(settings.FILMS_DIR) / str(key))  # no file of a film the database does not hold
        raise
    logger.info("film added id=%s user=%s source=%s", film.pk, request.user.get_username(), source)
    messages.success(request, _("%(source)s: the film is ready to measure.") % {"source": film.get_source_display()})
    return redirect(film)


def _film_add(request, patient: Patient, fracture: Fracture | None):
    if refusal := refusal_if_archived(request, fracture or patient):
        return refusal
    visit = _visit_of(request, fracture)
    form = FilmUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            return _take_film(
                request,
                patient,
                fracture,
                visit,
                _private_copy(upload.chunks()),
                source=FilmSource.UPLOAD,
                name=upload.name,
            )
        except films.FilmRefused as refused:
            form.add_error("file", str(refused))
    return render(
        request,
        "scoring/film_add.html",
        _context(patient, fracture, visit, form=form, pacs_configured=pacs.configured()),
        status=400 if request.method == "POST" else 200,
    )


@requires("scoring.view_fracture", "scoring.add_film")
@require_http_methods(["GET", "POST"])
def film_add(request, fracture_pk: int):
    """Upload the lateral film of an assessment (baseline) or of one of its visits (?visit=)."""
    fracture = _fracture(fracture_pk)
    return _film_add(request, fracture.patient, fracture)


@requires("scoring.view_patient", "scoring.add_film", "scoring.add_fracture")
@require_http_methods(["GET", "POST"])
def film_add_for_new_assessment(request, patient_pk: int):
    """Upload the film a new assessment of this patient will be measured on."""
    return _film_add(request, get_object_or_404(Patient, pk=patient_pk), None)


def _film_pacs(request, patient: Patient, fracture: Fracture | None):
    if not pacs.configured():
        raise Http404("No PACS is configured (DICOMWEB_URL).")
    if refusal := refusal_if_archived(request, fracture or patient):
        return refusal
    visit = _visit_of(request, fracture)
    error = ""
    if request.method == "POST":
        pick = PacsPickForm(request.POST)
        if not pick.is_valid():
            return HttpResponseBadRequest(_("That is not a film of the list."))
        chosen = pick.cleaned_data
        try:
            data = pacs.fetch_instance(chosen["study"], chosen["series"], chosen["instance"])
            return _take_film(
                request,
                patient,
                fracture,
                visit,
                _private_copy([data]),
                source=FilmSource.PACS,
                name=f"{chosen['instance']}.dcm",
            )
        except (pacs.PacsError, films.FilmRefused) as refused:
            error = str(refused)
    studies = []
    try:
        studies = pacs.find_studies(patient.mrn)
    except pacs.PacsError as refused:
        error = error or str(refused)
    return render(
        request,
        "scoring/film_pacs.html",
        _context(patient, fracture, visit, studies=studies, error=error),
        status=400 if error and request.method == "POST" else 200,
    )


@requires("scoring.view_fracture", "scoring.add_film")
@require_http_methods(["GET", "POST"])
def film_pacs(request, fracture_pk: int):
    """The patient's studies in the PACS (QIDO-RS by MRN); POST opens one film (WADO-RS)."""
    fracture = _fracture(fracture_pk)
    return _film_pacs(request, fracture.patient, fracture)


@requires("scoring.view_patient", "scoring.add_film", "scoring.add_fracture")
@require_http_methods(["GET", "POST"])
def film_pacs_for_new_assessment(request, patient_pk: int):
    """The PACS search for the film a new assessment of this patient will be measured on."""
    return _film_pacs(request, get_object_or_404(Patient, pk=patient_pk), None)


@requires("scoring.view_fracture", "scoring.add_film")
@require_POST
def film_confirm(request):
    """The user's word on a film whose DICOM names another patient: keep it (the history records
    what differed and who confirmed) or discard it."""
    pending = request.session.get(PENDING)
    if not pending or request.POST.get("key") != pending["key"]:
        messages.error(request, _("That film is no longer waiting: add it again."))
        return redirect("scoring:patient_list")
    del request.session[PENDING]
    patient = get_object_or_404(Patient, pk=pending["patient"])
    fracture = _fracture(pending["fracture"]) if pending["fracture"] else None
    directory = Path(settings.FILMS_DIR) / pending["key"]
    # The same answer sent twice (a double-click, Keep and Discard both pressed) reads the same
    # session: the first kept film stays, with its files, and is where the second answer goes.
    kept = Film.objects.filter(storage_key=pending["key"]).first()
    if kept is not None:
        return redirect(kept)
    if request.POST.get("keep") != "yes":
        films.remove(directory)
        messages.info(request, _("The film was discarded."))
        return redirect(_back(patient, fracture))
    try:
        with transaction.atomic():
            film = services.add_film(
                patient_pk=patient.pk,
                fracture_pk=pending["fracture"],
                visit_pk=pending["visit"],
                key=pending["key"],
                decoded=films.DecodedFilm.from_dict(pending["decoded"]),
                source=pending["source"],
                original_name=pending["name"],
                mismatch_confirmed=pending["mismatch"],
                user=request.user,
            )
    except services.ArchivedRecord as refused:
        films.remove(directory)
        return archived_refusal(request, refused)
    except IntegrityError:
        kept = Film.objects.filter(storage_key=pending["key"]).first()
        if kept is None:
            raise
        return redirect(kept)
    messages.warning(
        request,
        _("Film kept although %(mismatch)s: its history records your confirmation.")
        % {"mismatch": words(pending["mismatch"])},
    )
    return redirect(film)


def _readings(film: Film) -> dict[int, FilmReading]:
    return {reading.reader: reading for reading in film.readings.select_related("updated_by")}


@requires("scoring.view_film", "scoring.view_fracture")
@require_GET
def film_detail(request, pk: int):
    film = _film(pk)
    readings = _readings(film)
    return render(
        request,
        "scoring/film_detail.html",
        {
            "film": film,
            "fracture": film.fracture,
            "patient": film.patient,
            # What differed, said in the reader's language from what the film keeps of its file (the
            # confirmed sentence is stored as the confirming user read it).
            "mismatch": film.identity_mismatch_confirmed
            and services.identity_mismatch_words(film.patient, film.file_patient_id, film.file_patient_name),
            "readings": [
                presenters.film_reading_summary(readings.get(reader), reader) for reader in FilmReading.Reader
            ],
            "both_read": len(readings) == 2,
            "can_measure": request.user.has_perms(["scoring.add_filmreading", "scoring.change_filmreading"])
            and film.archived_record is None,
            "can_remove": request.user.has_perm("scoring.change_film") and film.archived_record is None,
            "archive_form": ArchiveForm(),
        },
    )


def _corner_list() -> list[dict[str, str]]:
    """The twelve corners in placing order, named in the active language (the viewer's list and
    its refusals name a vertebra alone: `vertebra_label`)."""
    return [
        {
            "vertebra": vertebra,
            "corner": corner,
            "label": words(presenters.corner_label(vertebra, corner)),
            "vertebra_label": words(presenters.VERTEBRA_LABELS[vertebra]),
        }
        for vertebra in radiograph.VERTEBRAE
        for corner in radiograph.OUTLINE
    ]


def _viewer_config(film: Film, *, mode: str, points=None, readings=()) -> dict:
    return {
        "mode": mode,
        "image_url": reverse("scoring:film_image", args=[film.pk]),
        "width": film.width,
        "height": film.height,
        "window": {
            "center": film.window_center,
            "width": film.window_width,
            "min": film.value_min,
            "max": film.value_max,
        },
        "spacing": [float(value) for value in film.pixel_spacing_mm] if film.pixel_spacing_mm else None,
        "measure_url": reverse("api_measure"),
        "points": points,
        "corners": _corner_list(),
        "readings": list(readings),
    }


def _record_edit_url(film: Film, reading: FilmReading) -> str:
    """The form the reading fills: the visit's, the assessment's, or a new assessment's."""
    if film.visit_id:
        url = reverse("scoring:visit_edit", args=[film.visit_id])
    elif film.fracture_id:
        url = reverse("scoring:fracture_edit", args=[film.fracture_id])
    else:
        url = reverse("scoring:fracture_create", args=[film.patient_id])
    return f"{url}?reading={reading.pk}"


@requires("scoring.view_film", "scoring.add_filmreading", "scoring.change_filmreading")
@require_http_methods(["GET", "POST"])
@never_cache
def film_measure(request, pk: int, reader: int):
    """One reader places the twelve corners. The page shows this reader's own points only, never
    the other reader's (the second reading is blind); "Use these values" keeps the reading and
    opens the record's form with its values filled, to check and save."""
    if reader not in FilmReading.Reader.values:
        raise Http404("A film has a first and a second reader.")
    film = _film(pk)
    if refusal := refusal_if_archived(request, film.owner):
        return refusal
    own = film.readings.filter(reader=reader).first()
    initial = {}
    if own is not None:
        initial = {"reader_name": own.reader_name, "points": json.dumps(own.points), "version": own.version}
    elif reader == FilmReading.Reader.FIRST and film.record is not None and film.record.first_reader_name:
        initial = {"reader_name": film.record.first_reader_name}
    form = ReadingForm(request.POST or None, film=film, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            reading = services.save_reading(
                film=film,
                reader=reader,
                reader_name=form.cleaned_data["reader_name"],
                points=form.cleaned_data["points"],
                seen_version=form.cleaned_data.get("version"),
                user=request.user,
            )
        except services.SameReader as refused:
            form.add_error(None, str(refused))
        except StaleEdit:
            form.add_error(None, _("Not saved: this reading was changed by someone else since you opened it."))
        except services.ArchivedRecord as refused:
            return archived_refusal(request, refused)
        else:
            kept = (
                _("%(reader)s's reading kept. Check the values below and save the visit.")
                if film.visit_id
                else _("%(reader)s's reading kept. Check the values below and save the assessment.")
            )
            messages.success(request, kept % {"reader": reading.get_reader_display()})
            return redirect(_record_edit_url(film, reading))
    points = own.points if own is not None else None
    if form.is_bound:
        points = form.cleaned_data.get("points") if hasattr(form, "cleaned_data") else None
        points = points or _posted_points(request.POST.get("points"))
    return render(
        request,
        "scoring/film_measure.html",
        {
            "film": film,
            "fracture": film.fracture,
            "patient": film.patient,
            "reader": reader,
            "reader_label": FilmReading.Reader(reader).label,
            "form": form,
            "viewer_config": _viewer_config(film, mode="measure", points=points),
        },
        status=400 if form.is_bound else 200,
    )


def _posted_points(raw: str | None):
    """The points a refused form sent, to show them again (only if they are a JSON object)."""
    if not raw or len(raw) > 4000:
        return None
    try:
        points = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return points if isinstance(points, dict) else None


@requires("scoring.view_film", "scoring.view_fracture")
@require_GET
def film_compare(request, pk: int):
    """Both readers' outlines on the film and their values side by side, differences flagged."""
    film = _film(pk)
    readings = _readings(film)
    if len(readings) < 2:
        messages.info(request, _("Both readers must measure the film before their readings can be compared."))
        return redirect(film)
    first, second = readings[FilmReading.Reader.FIRST], readings[FilmReading.Reader.SECOND]
    return render(
        request,
        "scoring/film_compare.html",
        {
            "film": film,
            "fracture": film.fracture,
            "patient": film.patient,
            "rows": presenters.reading_comparison(first, second),
            "viewer_config": _viewer_config(
                film,
                mode="compare",
                readings=[
                    {
                        "label": _("%(reader)s (%(name)s)")
                        % {"reader": reading.get_reader_display(), "name": reading.reader_name},
                        "colour": READER_COLOURS[reading.reader],
                        "points": reading.points,
                    }
                    for reading in (first, second)
                ],
            ),
        },
    )


def _number(value: str | None, default: float) -> float | None:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _window(film: Film, center: float, width: float) -> tuple[float, float]:
    """A window kept near the film's values, as the viewer's sliders keep it: the centre within ten
    ranges of them, the width up to twenty (beyond, the picture is one grey whatever the numbers)."""
    span = max(film.value_max - film.value_min, 1.0)
    center = min(max(center, film.value_min - 10 * span), film.value_max + 10 * span)
    return center, min(width, 20 * span)


def _image(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@requires("scoring.view_film")
@require_GET
def film_image(request, pk: int):
    """The film at full resolution, 8-bit, in the window asked for (?center=&width=)."""
    film = _film(pk)
    center = _number(request.GET.get("center"), film.window_center)
    width = _number(request.GET.get("width"), film.window_width)
    if center is None or width is None or width <= 0:
        return HttpResponseBadRequest(_("center and width must be numbers, width above 0."))
    center, width = _window(film, center, width)
    return _image(films.render_png(film.directory, center=center, width=width))


@requires("scoring.view_film")
@require_GET
def film_thumbnail(request, pk: int):
    """A small picture of the film with each saved reading's outlines (the record's pages)."""
    film = _film(pk)
    outlines = [
        (presenters.hex_to_rgb(READER_COLOURS[reading.reader]), reading.points)
        for reading in film.readings.order_by("reader")
    ]
    return _image(films.thumbnail_png(film.directory, outlines=outlines))


@requires("scoring.view_film", "scoring.change_film")
@require_POST
def film_remove(request, pk: int):
    """Take a wrong film off the record: archived with its readings and the reason, shown nowhere."""
    film = _film(pk)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the film is removed."))
        return redirect(film)
    try:
        services.remove_film(film=film, user=request.user, reason=form.cleaned_data["reason"])
    except services.ArchivedRecord as refused:
        return archived_refusal(request, refused)
    messages.success(request, _("The film was removed from the record."))
    return redirect(film.visit.get_absolute_url() if film.visit_id else film.owner)

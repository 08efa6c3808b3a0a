"""The hospital's PACS over DICOMweb (DICOM PS3.18): find a patient's radiographs by MRN with
QIDO-RS and fetch one as a DICOM file with WADO-RS (issue 15, "open the lateral view from the PACS").

Every failure reaches the caller as a PacsError whose message a user can read (in the language of the
request that asked); none carries the
MRN, a patient's name or a request URL (a QIDO URL holds the MRN), and none is chained to the
library's exception (whose text may hold that URL), so logging one never logs patient data.
"""

import dataclasses
import datetime
import io
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from pydicom.datadict import tag_for_keyword

logger = logging.getLogger("nasovcf.pacs")

# Projection radiographs: Computed Radiography and Digital X-Ray (PS3.3 C.7.3.1.1.1). A series
# without a Modality is kept: some archives do not index it, and the reader decides on the image.
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX"})

# PS3.5 §9.1: a UID is digits in dot-separated components, at most 64 characters.
UID_MAX_LENGTH = 64
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")

# PS3.4 C.2.2.2.4 and PS3.18 §8.3.4: "*" and "?" are wildcards, "\" separates values; with any
# of them a PatientID query would match other patients. Control characters have no place in an LO.
_MRN_FORBIDDEN = re.compile(r"[*?\\\x00-\x1f\x7f]")
MRN_MAX_LENGTH = 64  # PatientID is an LO (PS3.5 §6.2)

# A WADO-RS answer wraps the file in a multipart/related body: its boundaries and part headers
# may take this much beyond the file itself before the file's own size is checked.
MULTIPART_FRAMING_BYTES = 64 * 1024
_READ_CHUNK_BYTES = 1024 * 1024

_STUDY_FIELDS = (
    *("StudyInstanceUID", "StudyDate", "StudyTime", "StudyDescription", "AccessionNumber"),
    *("PatientID", "PatientName"),
)
_SERIES_FIELDS = ("SeriesInstanceUID", "Modality", "SeriesDescription", "BodyPartExamined", "ViewPosition")
_INSTANCE_FIELDS = ("SOPInstanceUID", "InstanceNumber", "Rows", "Columns")

# What the PACS should have sent and did not (msgids, said in the request's language).
NOT_DICOM_JSON = gettext_noop("The PACS answered with something other than DICOM JSON.")
NOT_A_DICOM_FILE = gettext_noop("The PACS answered with something other than a DICOM file.")


class PacsError(Exception):
    """The PACS could not give what was asked; the message says why, in words for the user."""


@dataclasses.dataclass(frozen=True)
class PacsInstance:
    sop_instance_uid: str
    instance_number: int | None
    rows: int | None
    columns: int | None


@dataclasses.dataclass(frozen=True)
class PacsSeries:
    series_instance_uid: str
    modality: str
    description: str
    body_part: str
    view_position: str
    instances: tuple[PacsInstance, ...]


@dataclasses.dataclass(frozen=True)
class PacsStudy:
    study_instance_uid: str
    date: datetime.date | None
    description: str
    accession_number: str
    patient_id: str
    patient_name: str
    series: tuple[PacsSeries, ...]


def configured() -> bool:
    """Whether the app may ask a PACS: DICOMWEB_URL is set (without it, films come by upload)."""
    return bool(settings.DICOMWEB_URL)


def find_studies(mrn: str) -> list[PacsStudy]:
    """The patient's studies, newest first, each with its projection-radiograph series and their
    instances. The PatientID must equal the MRN exactly: a wildcard is refused before any request,
    and a study a PACS matched loosely (another case, a prefix) is dropped. A study with no
    radiograph series is kept with none, so the reader sees it exists."""
    _check_mrn(mrn)
    client = _client(max_body_bytes=_film_max_bytes())
    with _pacs_errors(unexpected=NOT_DICOM_JSON):
        records = client.search_for_studies(
            fuzzymatching=False, search_filters={"PatientID": mrn}, fields=list(_STUDY_FIELDS)
        )
        studies = [
            (_study(client, record), _string(record, "StudyTime"))
            for record in _records(records)
            if _string(record, "PatientID").strip(" ") == mrn and _uid_or_none(record, "StudyInstanceUID")
        ]
    studies.sort(key=lambda pair: (pair[0].date or datetime.date.min, pair[1]), reverse=True)
    return [study for study, _time in studies]


def fetch_instance(study_uid: str, series_uid: str, sop_uid: str) -> bytes:
    """The instance as a DICOM Part 10 file in the transfer syntax the PACS keeps it in, refused
    beyond NASOVCF_FILM_MAX_MB (the upload's limit) before more than that is read."""
    for uid in (study_uid, series_uid, sop_uid):
        _check_uid(uid)
    max_bytes = _film_max_bytes()
    client = _client(max_body_bytes=max_bytes + MULTIPART_FRAMING_BYTES)
    with _pacs_errors(unexpected=NOT_A_DICOM_FILE):
        # ("application/dicom", "*"): as stored, so a compressed film is not decompressed on the way.
        dataset = client.retrieve_instance(study_uid, series_uid, sop_uid, media_types=(("application/dicom", "*"),))
        data = _part10_bytes(dataset)
        sent_uid = str(dataset.SOPInstanceUID)
    if sent_uid != sop_uid:
        raise PacsError(_("The PACS sent a different image from the one asked for."))
    if len(data) > max_bytes:
        raise _too_large()
    return data


# -- requests and errors ------------------------------------------------------------------------


class _BoundedSession(requests.Session):
    """A session that reads no response body beyond `max_body_bytes`: the PACS is another system,
    and a film larger than the upload's limit must not be taken into memory to be refused."""

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__()
        self.max_body_bytes = max_body_bytes

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        stream = kwargs.pop("stream", False)
        response = super().send(request, stream=True, **kwargs)
        if not stream:
            _read_bounded(response, self.max_body_bytes)
        return response


def _read_bounded(response: requests.Response, max_bytes: int) -> None:
    """Read the body into the response as requests would, stopping past `max_bytes`."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise _too_large()
    chunks, total = [], 0
    for chunk in response.iter_content(_READ_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            response.close()
            raise _too_large()
        chunks.append(chunk)
    # What Response.content fills in when it reads the body itself (requests.models).
    response._content = b"".join(chunks)
    response._content_consumed = True


def _client(*, max_body_bytes: int) -> DICOMwebClient:
    """A client for settings.DICOMWEB_URL: basic auth when a user is set, the timeout on every
    request, and no retries (the library retries any error five times, backing off, which would
    keep the reader waiting minutes for an answer that will not come)."""
    if not configured():
        raise PacsError(_("No PACS is configured (DICOMWEB_URL is not set)."))
    session = _BoundedSession(max_body_bytes)
    if settings.DICOMWEB_USER:
        session.auth = (settings.DICOMWEB_USER, settings.DICOMWEB_PASSWORD)
    try:
        client = DICOMwebClient(settings.DICOMWEB_URL, session=session, timeout=settings.DICOMWEB_TIMEOUT_SECONDS)
    except ValueError:
        raise PacsError(_("DICOMWEB_URL is not an http:// or https:// address of a DICOMweb service.")) from None
    client.set_http_retry_params(retry=False)
    return client


@contextmanager
def _pacs_errors(*, unexpected: str) -> Iterator[None]:
    """Turn whatever the exchange raised into a PacsError in words; `unexpected` (a msgid) says the
    PACS sent something other than it should have. Nothing is chained: the library's messages hold
    request URLs (and MRNs)."""
    try:
        yield
    except PacsError:
        raise
    except requests.Timeout:
        raise PacsError(
            _("The PACS did not answer within %(seconds)s s.") % {"seconds": settings.DICOMWEB_TIMEOUT_SECONDS}
        ) from None
    except requests.ConnectionError:
        raise PacsError(_("The PACS at %(where)s could not be reached.") % {"where": _where()}) from None
    except requests.HTTPError as error:
        raise _http_error(error.response.status_code if error.response is not None else None) from None
    except requests.exceptions.InvalidJSONError:
        raise PacsError(_(unexpected)) from None
    except requests.RequestException as error:
        logger.warning("PACS request failed: %s", type(error).__name__)
        raise PacsError(_("The request to the PACS at %(where)s failed.") % {"where": _where()}) from None
    except Exception as error:  # the body is another system's input, parsed by libraries
        logger.warning("PACS answer not understood: %s", type(error).__name__)
        raise PacsError(_(unexpected)) from None


def _http_error(status: int | None) -> PacsError:
    if status in (401, 403):
        return PacsError(_("The PACS refused the app's credentials (HTTP %(status)s).") % {"status": status})
    if status == 404:
        return PacsError(_("The PACS does not have this image (HTTP 404)."))
    return PacsError(_("The PACS answered with an error (HTTP %(status)s).") % {"status": status})


def _too_large() -> PacsError:
    return PacsError(
        _("The image in the PACS is larger than the %(limit)s MB limit.") % {"limit": settings.NASOVCF_FILM_MAX_MB}
    )


def _where() -> str:
    """The PACS's host and port, never its path or any credentials written into the URL."""
    parts = urlsplit(settings.DICOMWEB_URL)
    host: str = parts.netloc.rpartition("@")[2]
    return host or "DICOMWEB_URL"


def _film_max_bytes() -> int:
    return int(settings.NASOVCF_FILM_MAX_MB) * 1024 * 1024


# -- checks -------------------------------------------------------------------------------------


def _check_mrn(mrn: str) -> None:
    if not mrn or not mrn.strip(" "):
        raise PacsError(_("Enter the patient's MRN to search the PACS."))
    if len(mrn) > MRN_MAX_LENGTH:
        raise PacsError(_("An MRN longer than %(length)s characters cannot be in a PACS.") % {"length": MRN_MAX_LENGTH})
    if _MRN_FORBIDDEN.search(mrn):
        raise PacsError(_(r"An MRN with *, ?, \ or a control character cannot be searched in the PACS."))


def is_uid(value: object) -> bool:
    """Whether `value` is a DICOM UID (PS3.5 §9.1): digits and dots, at most 64 characters."""
    return isinstance(value, str) and len(value) <= UID_MAX_LENGTH and _UID.fullmatch(value) is not None


def _check_uid(value: str) -> None:
    if not is_uid(value):
        raise PacsError(_("That is not a DICOM UID (digits and dots, at most 64 characters)."))


# -- DICOM JSON (PS3.18 Annex F) ------------------------------------------------------------------


def _records(payload: object) -> list[Mapping[str, Any]]:
    """The QIDO-RS answer's data sets: a JSON array of objects, or a PacsError."""
    if not isinstance(payload, list) or not all(isinstance(record, dict) for record in payload):
        raise PacsError(_(NOT_DICOM_JSON))
    return payload


def _first_value(record: Mapping[str, Any], keyword: str) -> object:
    element = record.get(f"{tag_for_keyword(keyword):08X}")
    values = element.get("Value") if isinstance(element, dict) else None
    return values[0] if isinstance(values, list) and values else None


def _string(record: Mapping[str, Any], keyword: str) -> str:
    value = _first_value(record, keyword)
    if isinstance(value, dict):  # a person name (PS3.18 F.2.2): its alphabetic form
        value = value.get("Alphabetic", "")
    return value if isinstance(value, str) else ""


def _integer(record: Mapping[str, Any], keyword: str) -> int | None:
    value = _first_value(record, keyword)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip()) if isinstance(value, (str, float)) else None
    except ValueError:
        return None


def _uid_or_none(record: Mapping[str, Any], keyword: str) -> str | None:
    """The record's UID, or None when it is not one: a UID from the PACS goes into the next URL."""
    value = _string(record, keyword)
    return value if is_uid(value) else None


def _date(value: str) -> datetime.date | None:
    """A DA value (PS3.5 §6.2: YYYYMMDD), or None when absent or malformed."""
    try:
        return datetime.datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        return None


def _study(client: DICOMwebClient, record: Mapping[str, Any]) -> PacsStudy:
    study_uid = _string(record, "StudyInstanceUID")
    return PacsStudy(
        study_instance_uid=study_uid,
        date=_date(_string(record, "StudyDate")),
        description=_string(record, "StudyDescription"),
        accession_number=_string(record, "AccessionNumber"),
        patient_id=_string(record, "PatientID").strip(" "),
        patient_name=_string(record, "PatientName"),
        series=tuple(_radiograph_series(client, study_uid)),
    )


def _radiograph_series(client: DICOMwebClient, study_uid: str) -> Iterator[PacsSeries]:
    records = client.search_for_series(study_uid, fuzzymatching=False, fields=list(_SERIES_FIELDS))
    for record in _records(records):
        series_uid = _uid_or_none(record, "SeriesInstanceUID")
        modality = _string(record, "Modality").strip(" ")
        if series_uid is None or (modality and modality not in RADIOGRAPH_MODALITIES):
            continue
        yield PacsSeries(
            series_instance_uid=series_uid,
            modality=modality,
            description=_string(record, "SeriesDescription"),
            body_part=_string(record, "BodyPartExamined"),
            view_position=_string(record, "ViewPosition"),
            instances=_instances(client, study_uid, series_uid),
        )


def _instances(client: DICOMwebClient, study_uid: str, series_uid: str) -> tuple[PacsInstance, ...]:
    records = client.search_for_instances(study_uid, series_uid, fuzzymatching=False, fields=list(_INSTANCE_FIELDS))
    instances = [
        PacsInstance(
            sop_instance_uid=sop_uid,
            instance_number=_integer(record, "InstanceNumber"),
            rows=_integer(record, "Rows"),
            columns=_integer(record, "Columns"),
        )
        for record in _records(records)
        if (sop_uid := _uid_or_none(record, "SOPInstanceUID"))
    ]
    instances.sort(key=lambda instance: (instance.instance_number is None, instance.instance_number or 0))
    return tuple(instances)


def _part10_bytes(dataset: pydicom.Dataset) -> bytes:
    """The data set as a Part 10 file (PS3.10 §7: preamble, "DICM", file meta), as the upload takes."""
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()

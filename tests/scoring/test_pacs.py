"""scoring/pacs.py against a real PACS: Debian's Orthanc with its DICOMweb plugin (tests/orthanc.py),
holding synthetic films made by tests/films.py."""

import datetime
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pydicom
import pytest
import requests
from pydicom.uid import RLELossless, generate_uid

from scoring import pacs
from tests.films import dicom_film
from tests.orthanc import free_port


def film(
    *,
    patient_id="MRN001",
    study_uid,
    series_uid=None,
    sop_uid=None,
    modality="DX",
    study_date="20250310",
    instance_number=1,
    **options,
) -> bytes:
    """A synthetic lateral film (tests/films.py) with the study-level and series-level values the
    search reads set as a test needs them."""
    sop_uid = sop_uid or generate_uid()
    data = dicom_film(
        patient_id=patient_id, study_uid=study_uid, series_uid=series_uid or generate_uid(), sop_uid=sop_uid, **options
    )
    dataset = pydicom.dcmread(io.BytesIO(data))
    # pydicom's compress() gives a compressed film a new SOP Instance UID: set the one asked for.
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID = sop_uid
    dataset.Modality = modality
    dataset.StudyDate = study_date
    dataset.StudyDescription = f"Spine {study_date}"
    dataset.AccessionNumber = f"ACC{study_date}"
    dataset.SeriesDescription = f"{modality} lateral"
    dataset.BodyPartExamined = "SPINE"
    dataset.InstanceNumber = instance_number
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def pacs_settings(settings, empty_orthanc):
    """The app pointed at the test's (empty) Orthanc, with its credentials."""
    settings.DICOMWEB_URL = empty_orthanc.url
    settings.DICOMWEB_USER = empty_orthanc.user
    settings.DICOMWEB_PASSWORD = empty_orthanc.password
    settings.DICOMWEB_TIMEOUT_SECONDS = 20
    return settings


@pytest.fixture
def archive(pacs_settings, empty_orthanc):
    """Two studies of MRN001 (an older one with a DX series of two films and an MR series, a newer
    one with a CR film) and one of another patient, stored in Orthanc."""
    uids = {name: generate_uid() for name in ("old", "new", "other", "dx", "mr", "cr", "dx1", "dx2", "cr1")}
    films = [
        film(
            study_uid=uids["old"], study_date="20240105", series_uid=uids["dx"], sop_uid=uids["dx2"], instance_number=2
        ),
        film(
            study_uid=uids["old"], study_date="20240105", series_uid=uids["dx"], sop_uid=uids["dx1"], instance_number=1
        ),
        film(study_uid=uids["old"], study_date="20240105", series_uid=uids["mr"], modality="MR"),
        film(study_uid=uids["new"], study_date="20250310", series_uid=uids["cr"], sop_uid=uids["cr1"], modality="CR"),
        film(patient_id="MRN002", patient_name="Other^Patient", study_uid=uids["other"]),
    ]
    for data in films:
        empty_orthanc.store(data)
    return uids


def closed_port_url() -> str:
    """A DICOMweb URL on a loopback port nothing listens on: any request to it is refused."""
    return f"http://127.0.0.1:{free_port()}/dicom-web"


# -- QIDO-RS: find the patient's radiographs by MRN ------------------------------------------------


def test_find_studies_gives_the_patients_studies_newest_first_with_their_radiograph_series(archive):
    studies = pacs.find_studies("MRN001")

    assert [study.study_instance_uid for study in studies] == [archive["new"], archive["old"]]
    new, old = studies
    assert new.date == datetime.date(2025, 3, 10)
    assert old.date == datetime.date(2024, 1, 5)
    assert (old.description, old.accession_number) == ("Spine 20240105", "ACC20240105")
    assert {study.patient_id for study in studies} == {"MRN001"}
    assert {study.patient_name for study in studies} == {"Patient^Test"}
    assert new.series == (
        pacs.PacsSeries(
            series_instance_uid=archive["cr"],
            modality="CR",
            description="CR lateral",
            body_part="SPINE",
            view_position="LL",
            instances=(pacs.PacsInstance(sop_instance_uid=archive["cr1"], instance_number=1, rows=512, columns=512),),
        ),
    )
    # The MR series is not a projection radiograph: left out. The DX films in instance order.
    (dx,) = old.series
    assert (dx.series_instance_uid, dx.modality) == (archive["dx"], "DX")
    assert [instance.sop_instance_uid for instance in dx.instances] == [archive["dx1"], archive["dx2"]]
    assert [instance.instance_number for instance in dx.instances] == [1, 2]


def test_an_mrn_without_studies_gives_an_empty_list(archive):
    assert pacs.find_studies("MRN404") == []
    assert pacs.find_studies("MRN00") == []  # a prefix of MRN001 is another MRN


def test_a_study_the_pacs_matched_loosely_is_dropped(archive, empty_orthanc):
    """Orthanc matches PatientID without regard to case; the app wants that exact MRN only."""
    loose = requests.get(
        f"{empty_orthanc.url}/studies",
        params={"PatientID": "mrn001"},
        auth=(empty_orthanc.user, empty_orthanc.password),
        timeout=30,
    )
    assert len(loose.json()) == 2  # the PACS did match MRN001's studies

    assert pacs.find_studies("mrn001") == []


@pytest.mark.parametrize("mrn", ["MRN*", "MRN00?", "MRN001\\MRN002", "MRN\x00", "MRN\n1", "", "   ", "M" * 65])
def test_an_mrn_a_pacs_would_match_as_a_pattern_is_refused_before_any_request(settings, mrn):
    settings.DICOMWEB_URL = closed_port_url()  # a request would fail with "could not be reached"

    with pytest.raises(pacs.PacsError) as refused:
        pacs.find_studies(mrn)

    assert "could not be reached" not in str(refused.value)
    assert "MRN" in str(refused.value) or "cannot be searched" in str(refused.value)


def test_the_wildcard_refusal_says_why(settings):
    settings.DICOMWEB_URL = closed_port_url()
    with pytest.raises(pacs.PacsError, match=r"An MRN with \*, \?, \\ or a control character cannot be searched"):
        pacs.find_studies("MRN*")


# -- WADO-RS: fetch one instance --------------------------------------------------------------------


def test_fetch_instance_gives_the_stored_film_as_a_part_10_file(archive):
    data = pacs.fetch_instance(archive["old"], archive["dx"], archive["dx1"])

    assert data[128:132] == b"DICM"  # PS3.10 §7.1: preamble, then the prefix
    dataset = pydicom.dcmread(io.BytesIO(data))
    assert dataset.SOPInstanceUID == archive["dx1"]
    assert dataset.file_meta.MediaStorageSOPInstanceUID == archive["dx1"]
    assert dataset.PatientID == "MRN001"
    stored = pydicom.dcmread(io.BytesIO(film(study_uid=archive["old"])))
    assert dataset.PixelData == stored.PixelData
    assert (dataset.Rows, dataset.Columns, list(dataset.PixelSpacing)) == (512, 512, [0.25, 0.25])


def test_fetch_instance_keeps_the_transfer_syntax_the_pacs_stores(pacs_settings, empty_orthanc):
    study, series, sop = generate_uid(), generate_uid(), generate_uid()
    empty_orthanc.store(film(study_uid=study, series_uid=series, sop_uid=sop, transfer_syntax=RLELossless))

    dataset = pydicom.dcmread(io.BytesIO(pacs.fetch_instance(study, series, sop)))

    assert dataset.file_meta.TransferSyntaxUID == RLELossless
    assert dataset.pixel_array.shape == (512, 512)


def test_an_instance_larger_than_the_film_limit_is_refused(pacs_settings, empty_orthanc):
    study, series, sop = generate_uid(), generate_uid(), generate_uid()
    empty_orthanc.store(film(study_uid=study, series_uid=series, sop_uid=sop, rows=1024, columns=1024))  # 2 MiB
    pacs_settings.NASOVCF_FILM_MAX_MB = 1

    with pytest.raises(pacs.PacsError, match=r"^The image in the PACS is larger than the 1 MB limit\.$"):
        pacs.fetch_instance(study, series, sop)

    pacs_settings.NASOVCF_FILM_MAX_MB = 3
    assert len(pacs.fetch_instance(study, series, sop)) > 2 * 1024 * 1024


def test_an_instance_the_pacs_does_not_have_is_a_404(archive):
    with pytest.raises(pacs.PacsError, match=r"^The PACS does not have this image \(HTTP 404\)\.$"):
        pacs.fetch_instance(archive["old"], archive["dx"], generate_uid())


@pytest.mark.parametrize(
    "uids",
    [
        ("1.2.abc", "1.2.3", "1.2.4"),
        ("1.2.3", "1.2.3/../4", "1.2.4"),
        ("1.2.3", "1.2.4", "1." + "2" * 63),  # 65 characters
        ("1.2.3", "1.2.4", ""),
        ("1.2.3", "1..2", "1.2.4"),
    ],
)
def test_a_malformed_uid_is_refused_before_any_request(settings, uids):
    settings.DICOMWEB_URL = closed_port_url()

    with pytest.raises(pacs.PacsError, match=r"^That is not a DICOM UID \(digits and dots, at most 64 characters\)\.$"):
        pacs.fetch_instance(*uids)


# -- failures in words -------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_with_http_401(archive, pacs_settings):
    pacs_settings.DICOMWEB_PASSWORD = "not-the-password"

    with pytest.raises(pacs.PacsError) as refused:
        pacs.find_studies("MRN001")

    assert str(refused.value) == "The PACS refused the app's credentials (HTTP 401)."
    # Nothing personal rides along: the library's error (its text holds the URL with the MRN) is
    # neither in the message nor chained to it.
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__


def test_a_pacs_that_is_not_listening_cannot_be_reached(settings):
    settings.DICOMWEB_URL = closed_port_url()
    host = settings.DICOMWEB_URL.split("/")[2]

    with pytest.raises(pacs.PacsError, match=rf"^The PACS at {host} could not be reached\.$"):
        pacs.find_studies("MRN001")
    with pytest.raises(pacs.PacsError, match=r"could not be reached"):
        pacs.fetch_instance("1.2.3", "1.2.4", "1.2.5")


def test_a_pacs_that_does_not_answer_times_out(settings):
    """A socket that listens but never accepts: the connection is made and no answer comes."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings.DICOMWEB_URL = f"http://127.0.0.1:{silent.getsockname()[1]}/dicom-web"
        settings.DICOMWEB_TIMEOUT_SECONDS = 1

        with pytest.raises(pacs.PacsError, match=r"^The PACS did not answer within 1 s\.$"):
            pacs.find_studies("MRN001")


class _HtmlEverywhere(BaseHTTPRequestHandler):
    """A web server that is not a PACS: an HTML page for every request."""

    def do_GET(self):
        body = b"<!doctype html><title>Intranet</title><p>Welcome"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # quiet: the base class writes every request to stderr
        pass


class _UndeclaredTwoMegabytes(_HtmlEverywhere):
    """A body of 2 MiB with no Content-Length (HTTP/1.0: it ends when the connection closes), so
    only counting what is read can find it too large."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", 'multipart/related; type="application/dicom"; boundary=b')
        self.end_headers()
        try:
            for _chunk in range(32):
                self.wfile.write(b"\0" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the limit is for


def _serve(settings, handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.DICOMWEB_URL = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    yield
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def not_a_pacs(settings):
    yield from _serve(settings, _HtmlEverywhere)


@pytest.fixture
def undeclared_large_answer(settings):
    yield from _serve(settings, _UndeclaredTwoMegabytes)


def test_an_answer_without_a_declared_length_is_refused_past_the_limit(settings, undeclared_large_answer):
    settings.NASOVCF_FILM_MAX_MB = 1

    with pytest.raises(pacs.PacsError, match=r"^The image in the PACS is larger than the 1 MB limit\.$"):
        pacs.fetch_instance("1.2.3", "1.2.4", "1.2.5")


def test_an_answer_that_is_not_dicom_json_is_an_error(not_a_pacs):
    with pytest.raises(pacs.PacsError, match=r"^The PACS answered with something other than DICOM JSON\.$"):
        pacs.find_studies("MRN001")


def test_an_answer_that_is_not_a_dicom_file_is_an_error(not_a_pacs):
    with pytest.raises(pacs.PacsError, match=r"^The PACS answered with something other than a DICOM file\.$"):
        pacs.fetch_instance("1.2.3", "1.2.4", "1.2.5")


def test_json_that_is_not_dicom_json_is_an_error(pacs_settings, empty_orthanc):
    """Orthanc's own REST API (not its DICOMweb root) answers /studies with a list of its ids."""
    empty_orthanc.store(film(study_uid=generate_uid()))
    pacs_settings.DICOMWEB_URL = empty_orthanc.base_url

    with pytest.raises(pacs.PacsError, match=r"^The PACS answered with something other than DICOM JSON\.$"):
        pacs.find_studies("MRN001")


def test_without_dicomweb_url_no_pacs_is_asked(settings):
    settings.DICOMWEB_URL = ""

    assert pacs.configured() is False
    with pytest.raises(pacs.PacsError, match=r"^No PACS is configured \(DICOMWEB_URL is not set\)\.$"):
        pacs.find_studies("MRN001")


def test_dicomweb_url_makes_the_pacs_configured(settings):
    settings.DICOMWEB_URL = "http://pacs.example:8042/dicom-web"
    assert pacs.configured() is True

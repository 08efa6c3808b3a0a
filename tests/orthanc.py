"""A real PACS for the tests: Debian's Orthanc with its DICOMweb plugin, on a free loopback port.

`orthanc` is session-scoped: one Orthanc per test process. Under pytest-xdist each worker starts
its own (its own port, its own storage in the worker's tmp dir), so the PACS tests run in the
parallel half without sharing state; Orthanc starts in about a second and idles at a few MB, far
lighter than the app servers the `servers` mark keeps apart. Tests empty it with `.clear()`.

Without Orthanc the tests skip locally and fail in CI (CI set), as the browser tests do with
Chromium (tests/browser/conftest.py). Enable it from tests/conftest.py with
`pytest_plugins = ["tests.orthanc"]`, or import the fixture into a test module.
"""

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ORTHANC = Path(os.environ.get("ORTHANC_PATH", "/usr/sbin/Orthanc"))
DICOMWEB_PLUGIN = Path(os.environ.get("ORTHANC_DICOMWEB_PLUGIN", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"))
USER = "nasovcf-test"
PASSWORD = "orthanc-test-password"  # a throwaway Orthanc on loopback
# A loaded 2-core CI machine may take long to start it; a fast machine does not wait longer.
START_DEADLINE_S = 60
REQUEST_TIMEOUT_S = 30
START_ATTEMPTS = 3  # another process may take the free port between our probe and Orthanc's bind


@dataclass
class Orthanc:
    """A running Orthanc: `url` is its DICOMweb root, as DICOMWEB_URL takes it."""

    base_url: str
    user: str
    password: str
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"{self.base_url}/dicom-web"

    def _session(self) -> requests.Session:
        session = requests.Session()
        session.auth = (self.user, self.password)
        return session

    def store(self, dicom_bytes: bytes) -> dict:
        """Store one DICOM file (Orthanc's REST API, POST /instances); its answer."""
        with self._session() as session:
            response = session.post(f"{self.base_url}/instances", data=dicom_bytes, timeout=REQUEST_TIMEOUT_S)
        response.raise_for_status()
        answer = response.json()
        assert answer.get("Status") in ("Success", "AlreadyStored"), answer
        return answer

    def clear(self) -> None:
        """Delete every patient, so each test sees only what it stored."""
        with self._session() as session:
            patients = session.get(f"{self.base_url}/patients", timeout=REQUEST_TIMEOUT_S)
            patients.raise_for_status()
            for patient in patients.json():
                session.delete(f"{self.base_url}/patients/{patient}", timeout=REQUEST_TIMEOUT_S).raise_for_status()


def free_port() -> int:
    """A loopback port nothing listens on at this moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _require_orthanc() -> None:
    missing = [str(path) for path in (ORTHANC, DICOMWEB_PLUGIN) if not path.exists()]
    if not missing:
        return
    reason = f"Orthanc not found ({', '.join(missing)}): install Debian's orthanc and orthanc-dicomweb packages"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}. In CI the PACS tests must run.")
    pytest.skip(reason)


def _write_config(directory: Path, port: int) -> Path:
    storage = directory / "storage"
    storage.mkdir(mode=0o700, exist_ok=True)
    config = {
        "Name": "nasovcf-tests",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "RegisteredUsers": {USER: PASSWORD},
        "Plugins": [str(DICOMWEB_PLUGIN)],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }
    path = directory / f"orthanc-{port}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _answers(base_url: str) -> bool:
    try:
        response = requests.get(f"{base_url}/system", auth=(USER, PASSWORD), timeout=REQUEST_TIMEOUT_S)
    except requests.ConnectionError:
        return False
    return response.status_code == 200


def _wait_until_up(process: subprocess.Popen, base_url: str, log_path: Path) -> bool:
    """True once /system answers; False if Orthanc exited first (its port was taken, say)."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _answers(base_url):
            return True
        time.sleep(0.1)  # polling a condition, not waiting for time to pass
    _stop(process)
    pytest.fail(f"Orthanc did not answer within {START_DEADLINE_S} s; its log:\n{log_path.read_text()[-4000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=REQUEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory):
    """A running Orthanc with DICOMweb and basic authentication, for the whole test process."""
    _require_orthanc()
    directory = tmp_path_factory.mktemp("orthanc")
    for _attempt in range(START_ATTEMPTS):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = directory / f"orthanc-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(ORTHANC), str(_write_config(directory, port))], stdout=log, stderr=subprocess.STDOUT
            )
        if _wait_until_up(process, base_url, log_path):
            break
    else:
        pytest.fail(f"Orthanc exited at start {START_ATTEMPTS} times; its log:\n{log_path.read_text()[-4000:]}")
    server = Orthanc(base_url=base_url, user=USER, password=PASSWORD, process=process)
    try:
        yield server
    finally:
        _stop(process)


@pytest.fixture
def empty_orthanc(orthanc):
    """The session's Orthanc, emptied before the test."""
    orthanc.clear()
    return orthanc

import pytest
from django.core.management import call_command


@pytest.fixture
def demo(user):
    """A synthetic cohort of 400 patients that follows the paper's figures (seed_demo)."""
    call_command("seed_demo", patients=400, seed=11)

from django.urls import path

from . import views

app_name = "cohort"

urlpatterns = [
    path("cohort/", views.cohort, name="cohort"),
    path("cohort/export/", views.export, name="export"),
    path("cohort/dictionary.csv", views.dictionary, name="dictionary"),
]

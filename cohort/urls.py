from django.urls import path

from . import views

app_name = "cohort"

urlpatterns = [
    path("cohort/", views.cohort, name="cohort"),
    path("cohort/report.json", views.report_json, name="report_json"),
    path("cohort/report.html", views.report_download, name="report_download"),
    path("cohort/plot/<str:name>.svg", views.plot, name="plot"),
    path("cohort/export/", views.export, name="export"),
    path("cohort/dictionary.csv", views.dictionary, name="dictionary"),
    path("cohort/import/", views.import_start, name="import"),
    path("cohort/import/template.<str:file_format>", views.import_template, name="import_template"),
    path("cohort/import/<uuid:pk>/", views.import_detail, name="import_detail"),
    path("cohort/import/<uuid:pk>/progress/", views.import_progress, name="import_progress"),
    path("cohort/import/<uuid:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("cohort/import/<uuid:pk>/discard/", views.import_discard, name="import_discard"),
]

from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/new/", views.patient_create, name="patient_create"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<int:pk>/archive/", views.patient_archive, name="patient_archive"),
    path("patients/<int:pk>/history/", views.patient_history, name="patient_history"),
    path("assessments/<int:pk>/archive/", views.fracture_archive, name="fracture_archive"),
    path("assessments/<int:pk>/history/", views.fracture_history, name="fracture_history"),
    path("visits/<int:pk>/history/", views.visit_history, name="visit_history"),
    path("patients/<int:patient_pk>/assessments/new/", views.fracture_create, name="fracture_create"),
    path("assessments/<int:pk>/", views.fracture_detail, name="fracture_detail"),
    path("assessments/<int:pk>/edit/", views.fracture_edit, name="fracture_edit"),
    path("assessments/<int:pk>/print/", views.fracture_print, name="fracture_print"),
    path("assessments/<int:fracture_pk>/visits/new/", views.visit_create, name="visit_create"),
    path("assessments/<int:fracture_pk>/treatment-change/", views.treatment_change, name="treatment_change"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("worklist/", views.worklist, name="worklist"),
    path("calculator/", views.calculator, name="calculator"),
    path("cohort/", views.cohort, name="cohort"),
    path("cohort/export/", views.cohort_export, name="cohort_export"),
    path("cohort/dictionary.csv", views.cohort_dictionary, name="cohort_dictionary"),
]

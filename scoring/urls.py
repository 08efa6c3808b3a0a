from django.urls import path

from .views import calculator, films, fractures, history, patients, visits, worklist

app_name = "scoring"

urlpatterns = [
    path("patients/", patients.patient_list, name="patient_list"),
    path("patients/new/", patients.patient_create, name="patient_create"),
    path("patients/<int:pk>/", patients.patient_detail, name="patient_detail"),
    path("patients/<int:pk>/edit/", patients.patient_edit, name="patient_edit"),
    path("patients/<int:pk>/archive/", patients.patient_archive, name="patient_archive"),
    path("patients/<int:pk>/history/", history.patient_history, name="patient_history"),
    path("assessments/<int:pk>/archive/", patients.fracture_archive, name="fracture_archive"),
    path("assessments/<int:pk>/history/", history.fracture_history, name="fracture_history"),
    path("visits/<int:pk>/history/", history.visit_history, name="visit_history"),
    path("patients/<int:patient_pk>/assessments/new/", fractures.fracture_create, name="fracture_create"),
    path("assessments/<int:pk>/", fractures.fracture_detail, name="fracture_detail"),
    path("assessments/<int:pk>/edit/", fractures.fracture_edit, name="fracture_edit"),
    path("assessments/<int:pk>/print/", fractures.fracture_print, name="fracture_print"),
    path("assessments/<int:fracture_pk>/visits/new/", visits.visit_create, name="visit_create"),
    path("assessments/<int:fracture_pk>/treatment-change/", visits.treatment_change, name="treatment_change"),
    path("visits/<int:pk>/edit/", visits.visit_edit, name="visit_edit"),
    path("assessments/<int:fracture_pk>/films/new/", films.film_add, name="film_add"),
    path("assessments/<int:fracture_pk>/films/pacs/", films.film_pacs, name="film_pacs"),
    path("patients/<int:patient_pk>/films/new/", films.film_add_for_new_assessment, name="film_add_new_assessment"),
    path("patients/<int:patient_pk>/films/pacs/", films.film_pacs_for_new_assessment, name="film_pacs_new_assessment"),
    path("films/confirm/", films.film_confirm, name="film_confirm"),
    path("films/<int:pk>/", films.film_detail, name="film_detail"),
    path("films/<int:pk>/measure/<int:reader>/", films.film_measure, name="film_measure"),
    path("films/<int:pk>/compare/", films.film_compare, name="film_compare"),
    path("films/<int:pk>/image.png", films.film_image, name="film_image"),
    path("films/<int:pk>/thumbnail.png", films.film_thumbnail, name="film_thumbnail"),
    path("films/<int:pk>/remove/", films.film_remove, name="film_remove"),
    path("worklist/", worklist.worklist, name="worklist"),
    path("calculator/", calculator.calculator, name="calculator"),
]

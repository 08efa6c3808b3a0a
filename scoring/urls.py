from django.urls import path

from . import views

app_name = "scoring"

urlpatterns = [
    path("patients/", views.patient_list, name="patient_list"),
    path("patients/new/", views.patient_create, name="patient_create"),
    path("patients/<int:pk>/", views.patient_detail, name="patient_detail"),
    path("patients/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("patients/<int:patient_pk>/assessments/new/", views.fracture_create, name="fracture_create"),
    path("assessments/<int:pk>/", views.fracture_detail, name="fracture_detail"),
    path("assessments/<int:pk>/edit/", views.fracture_edit, name="fracture_edit"),
]

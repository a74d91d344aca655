"""Top-level URLs: the certificates app, the admin (superusers only) and authentication."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("certificates.urls")),
]

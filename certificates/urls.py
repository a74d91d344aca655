from django.contrib.auth import views as auth_views
from django.urls import path

from certificates import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("setup/", views.first_run, name="first_run"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="certificates/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

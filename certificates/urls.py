from django.contrib.auth import views as auth_views
from django.urls import include, path

from certificates.views import certificates, core, requests, wizard

urlpatterns = [
    path("", core.dashboard, name="dashboard"),
    path("setup/", core.first_run, name="first_run"),
    path("healthz", core.healthz, name="healthz"),
    path("login/", core.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("reauthenticate/", core.reauthenticate_view, name="reauthenticate"),
    # The request wizard, one URL per step; the state lives in the session between steps.
    path("requests/new/", wizard.start, name="wizard_start"),
    path("requests/new/key/", wizard.key_source, name="wizard_key_source"),
    path("requests/new/subject/", wizard.subject, name="wizard_subject"),
    path("requests/new/review/", wizard.review, name="wizard_review"),
    path("requests/<int:pk>/", requests.detail, name="request_detail"),
    path("requests/<int:pk>/csr/", requests.download_csr, name="request_csr"),
    path("requests/<int:pk>/key/", requests.download_key, name="request_key"),
    path("requests/<int:pk>/sent-by-hand/", requests.mark_sent, name="request_mark_sent"),
    path("requests/<int:pk>/resend/", requests.resend, name="request_resend"),
    path("requests/<int:pk>/cancel/", requests.cancel, name="request_cancel"),
    path("", include("certificates.views.lists")),
    path("environments/<slug:slug>/send/", requests.send_to_tam, name="send_to_tam"),
    path("environments/<slug:slug>/csrs.zip", requests.csr_archive, name="csr_archive"),
    path("certificates/upload/", certificates.upload, name="certificate_upload"),
    path("certificates/<int:pk>/", certificates.detail, name="certificate_detail"),
    path("certificates/<int:pk>/pem/", certificates.download_pem, name="certificate_pem"),
    path("certificates/<int:pk>/chain/", certificates.download_chain, name="certificate_chain"),
    path("certificates/<int:pk>/key/", certificates.download_key, name="certificate_key"),
    path(
        "certificates/<int:pk>/compromised/",
        certificates.report_compromise,
        name="certificate_compromise",
    ),
    path("certificates/<int:pk>/revoke/", certificates.revoke, name="certificate_revoke"),
    path(
        "certificates/<int:pk>/revocation-confirmed/",
        certificates.revocation_confirmed,
        name="certificate_revocation_confirmed",
    ),
    path(
        "certificates/<int:pk>/destroy-key/",
        certificates.destroy_key,
        name="certificate_destroy_key",
    ),
    path("settings/", include("certificates.views.settings")),
    path("outbox/", include("certificates.views.outbox")),
    path("calendar/", include("certificates.views.calendar")),
]

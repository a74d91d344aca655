from allauth.account import views as allauth_views
from django.urls import include, path
from django.views.generic import RedirectView

from certificates import api
from certificates.views import (
    calendar,
    certificates,
    core,
    invitations,
    lists,
    metrics,
    notifications,
    outbox,
    profile,
    requests,
    settings,
    tokens,
    wizard,
)

# Every route of certdesk, in one table (the view modules declare none).

urlpatterns = [
    path("", core.dashboard, name="dashboard"),
    path("setup/", core.first_run, name="first_run"),
    path("healthz", core.healthz, name="healthz"),
    # Prometheus (issue 18): a bearer token or an address allow-list, else 404.
    path("metrics", metrics.metrics, name="metrics"),
    path("login/", core.LoginView.as_view(), name="login"),
    path("logout/", allauth_views.LogoutView.as_view(), name="logout"),
    # Accounts (django-allauth): password reset and change, addresses, second factors,
    # sessions, SSO. certdesk's own versions of two of its pages come first.
    path("accounts/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path(
        "accounts/reauthenticate/",
        core.ReauthenticateView.as_view(),
        name="account_reauthenticate",
    ),
    path("accounts/", include("allauth.urls")),
    path("accounts/second-factor/", core.second_factor_required, name="second_factor_required"),
    path("profile/", profile.profile, name="profile"),
    # Personal API tokens (issue 17): made, listed and revoked by their owner.
    path("profile/tokens/", tokens.token_list, name="api_tokens"),
    path("profile/tokens/<int:pk>/revoke/", tokens.token_revoke, name="api_token_revoke"),
    # An invited person chooses their password; token_urlsafe's alphabet is the slug's.
    path("invitations/<slug:token>/", invitations.accept, name="invitation_accept"),
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
    path("certificates/", lists.certificate_list, name="certificate_list"),
    path("requests/", lists.request_list, name="request_list"),
    path("audit/", lists.audit_log, name="audit_log"),
    # The two lists as CSV, with the same filters and limits as their pages (issue 16).
    path("certificates/export.csv", lists.certificate_list_csv, name="certificate_list_csv"),
    path("audit/export.csv", lists.audit_log_csv, name="audit_log_csv"),
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
    path("settings/", settings.home, name="settings_home"),
    path("settings/company/", settings.company, name="settings_company"),
    path(
        "settings/environments/add/",
        settings.environment_add,
        name="settings_environment_add",
    ),
    path(
        "settings/environments/<slug:slug>/edit/",
        settings.environment_edit,
        name="settings_environment_edit",
    ),
    path("settings/environments/<slug:slug>/members/", settings.members, name="settings_members"),
    path(
        "settings/environments/<slug:slug>/members/<int:pk>/remove/",
        settings.member_remove,
        name="settings_member_remove",
    ),
    # Chat and webhook channels of an environment (issue 18).
    path(
        "settings/environments/<slug:slug>/notifications/",
        notifications.channels,
        name="settings_notifications",
    ),
    path(
        "settings/environments/<slug:slug>/notifications/<int:pk>/",
        notifications.channel_edit,
        name="settings_notification_edit",
    ),
    path(
        "settings/environments/<slug:slug>/notifications/<int:pk>/deactivate/",
        notifications.channel_deactivate,
        name="settings_notification_deactivate",
    ),
    path(
        "settings/environments/<slug:slug>/notifications/<int:pk>/reactivate/",
        notifications.channel_reactivate,
        name="settings_notification_reactivate",
    ),
    path(
        "settings/environments/<slug:slug>/notifications/<int:pk>/test/",
        notifications.channel_test,
        name="settings_notification_test",
    ),
    path("settings/people/", settings.people, name="settings_people"),
    path("settings/people/invite/", settings.invite, name="settings_invite"),
    path("settings/people/locked/", settings.login_locks, name="settings_login_locks"),
    # Every person's API tokens, each revocable (issue 17).
    path("settings/people/tokens/", tokens.all_tokens, name="settings_api_tokens"),
    path(
        "settings/people/tokens/<int:pk>/revoke/",
        tokens.any_token_revoke,
        name="settings_api_token_revoke",
    ),
    path(
        "settings/people/<int:pk>/deactivate/",
        settings.user_deactivate,
        name="settings_user_deactivate",
    ),
    path(
        "settings/people/<int:pk>/reactivate/",
        settings.user_reactivate,
        name="settings_user_reactivate",
    ),
    path(
        "settings/people/<int:pk>/second-factor/reset/",
        settings.second_factor_reset,
        name="settings_second_factor_reset",
    ),
    path(
        "settings/people/<int:pk>/invitation/resend/",
        settings.invitation_resend,
        name="settings_invitation_resend",
    ),
    path("outbox/", outbox.outbox_list, name="outbox"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    # token_urlsafe's alphabet is the slug converter's: letters, digits, '-' and '_'.
    path("calendar/<slug:token>.ics", calendar.calendar_feed, name="calendar_feed"),
    # The REST API for scripts and pipelines (issue 17): token auth, its schema and reference.
    path("api/v1/", api.urls()),
]

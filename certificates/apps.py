from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = "Certificates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Refuses the deletion of a user (they are deactivated instead), connects the login signal
        # that stamps the time of the last authentication and the audit of allauth's account
        # changes (services/account_events.py), and registers the Celery tasks in every
        # process (the outbox queues its send task by name; an eager app, the test suite, runs a
        # registered task in place).
        # The laptop's var/ and what the settings name in it, owner-only, before any request,
        # task or command touches them (the settings only declare the paths).
        from django.conf import settings

        from certificates import accounts, receivers, tasks  # noqa: F401
        from certificates.services import account_events  # noqa: F401
        from config.environment import prepare_private_files

        prepare_private_files(settings)

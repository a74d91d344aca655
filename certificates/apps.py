from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = "Certificates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Refuses the deletion of a user (they are deactivated instead), and connects the login
        # signal that stamps the time of the last authentication.
        from certificates import accounts  # noqa: F401
        from certificates.views import access  # noqa: F401

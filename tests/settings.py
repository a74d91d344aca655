"""Settings for the test suite: the project's settings with fast, hermetic defaults.

Real services are used when their variables are set (DATABASE_URL, REDIS_URL, as .ci/run does);
otherwise SQLite in memory and a local-memory cache. Nothing is written under var/.
"""

import os
import tempfile

os.environ.setdefault("CERTDESK_VAR_DIR", tempfile.mkdtemp(prefix="certdesk-test-"))
# A fixed key so the suite never creates a key file; tests of rotation set their own.
os.environ.setdefault("CERTDESK_ENCRYPTION_KEYS", "Y2VydGRlc2stdGVzdHMtb25seS1rZXktMzJieXRlcyE=")
os.environ.setdefault("CERTDESK_AUDIT_KEY", "Y2VydGRlc2stdGVzdHMtb25seS1hdWRpdC1rZXktMzJi")
if "REDIS_URL" not in os.environ:
    os.environ.setdefault("CACHE_URL", "locmemcache://certdesk-tests")

from config.settings import *  # noqa: F403

# Argon2 is the production hasher (tested on its own); MD5 keeps user fixtures fast here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
# django-axes refuses Client.login(), which calls authenticate() without a request; its docs name
# AXES_ENABLED as the switch for test runs. tests/security/ turns it back on for its own tests.
AXES_ENABLED = False
CELERY_TASK_EAGER_PROPAGATES = True
# The second-factor policy (default "custodians") would send every custodian and administrator of
# the older tests to enrolment first; tests/accounts/ runs with the production default.
CERTDESK_MFA_REQUIRED = "off"

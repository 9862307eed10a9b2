"""Copy to instance/config.py and adapt; environment variables (LMS_*) override it.

Every name here is a Flask setting; see lms/config.py for the defaults.
"""

# A long random string, the same on every web and worker machine.
# SECRET_KEY = "change me"

# PostgreSQL in production (psycopg 3); SQLite in instance/lms.sqlite3 by default.
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://lms@db.internal/lms"

# Redis for jobs; without it jobs run inside the web process.
# REDIS_URL = "redis://redis.internal:6379/0"

# Where issued PDFs, uploads and exports are kept; shared storage with several machines.
# FILES_DIR = "/srv/lms/files"

# Behind TLS:
# SESSION_COOKIE_SECURE = True
# REMEMBER_COOKIE_SECURE = True

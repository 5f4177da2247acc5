"""Settings of the sales_forecast demo project (every default: tether/conf/global_settings.py)."""

import os

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INSTALLED_MODULES = [
    "forecasting",
]

CONFIG_PATH = os.path.join(BASE_DIR, "configs")
STORAGE_ROOT = os.path.join(BASE_DIR, "data")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "simple": {"format": "{levelname} {asctime} {name} - {message}", "style": "{"},
    },
    "handlers": {
        "stream": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "simple"},
    },
    "root": {"handlers": ["stream"], "level": "INFO"},
}

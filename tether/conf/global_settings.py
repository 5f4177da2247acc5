"""Default settings: every setting tether reads has a value and a comment here.

A project's settings module (named by TETHER_SETTINGS_MODULE) is laid over these
values, so a setting the project leaves out is never an AttributeError. Settings
whose default is None are derived from others when settings load; the comment
says how.
"""

# --- the project -------------------------------------------------------------------

# The project's root folder. None: the current working directory.
BASE_DIR = None

# Python packages of the project whose `tasks`, `dags` and `commands` modules
# tether imports to find DAGs and CLI commands.
INSTALLED_MODULES = []

# Folder of `*.yaml` / `*.yml` files merged, in sorted file-name order, into the
# run Context. None: BASE_DIR/configs.
CONFIG_PATH = None

# Dotted path of the class that builds run Contexts.
CONTEXT_BACKEND = "tether.conf.context.DefaultContextManager"

# --- storage -----------------------------------------------------------------------

# Dotted path of the storage class behind `default_storage`. None: chosen from
# STORAGE_ROOT: a plain path is LocalStorage, `memory://` is MemoryStorage, any
# other URL (s3://, gs://, ...) goes to fsspec.
STORAGE_BACKEND = None

# Where runs and data live: a folder, or a URL such as s3://bucket/prefix.
# None: BASE_DIR/data.
STORAGE_ROOT = None

# Extra keyword arguments for the storage's filesystem (fsspec options).
STORAGE_OPTIONS = {}

# How many files `storage.upload` and `storage.download` copy at once (threads,
# or concurrent requests on S3 and GCS).
STORAGE_CONCURRENCY = 16

# Remote storage (S3, GCS): seconds to wait for the service to accept a
# connection, seconds to wait for an answer once connected, and attempts per
# request (the first try included) before the error is raised. A service that
# does not answer fails in about MAX_ATTEMPTS * (CONNECT + READ) seconds.
STORAGE_CONNECT_TIMEOUT = 5
STORAGE_READ_TIMEOUT = 60
STORAGE_MAX_ATTEMPTS = 3

# Dotted path of the data manager behind `data_manager`.
DATA_BACKEND = "tether.files.data.pandas.PandasDataManager"

# Whether data managers and bundles may read and write pickles. Unpickling runs
# arbitrary code: only turn this on for data you trust.
ALLOW_PICKLE = False

# --- execution ---------------------------------------------------------------------

# Dotted path of the executor that runs a DAG's tasks (or local, process, dask).
EXECUTOR_BACKEND = "tether.exec.executors.LocalExecutor"

# Keyword arguments for the executor's constructor.
EXECUTOR_OPTIONS = {}

# Dotted path of a Task class run first in every DAG (set-up work), or None.
START_TASK = None

# Dotted paths of functions called after each task succeeds, as
# hook(task_class, run_record, task_record, io_log, storage); io_log lists the
# storage paths the task read and wrote. The default files each task's outputs
# as a bundle `<dag>.<task>` with lineage to the bundles it read.
TASK_HOOKS = ["tether.bundles.outputs.bundle_task_outputs"]

# --- records -----------------------------------------------------------------------

# Where the catalog lives. None: a SQLite file at BASE_DIR/.tether/catalog.sqlite3.
CATALOG_URL = None

# Dotted path of the backend behind `tether.ops.default_mlops`.
MLOPS_BACKEND = "tether.ops.backend.RunFolderBackend"

# Logging configuration, passed to LOGGING_CONFIG (logging.config.dictConfig).
LOGGING_CONFIG = "logging.config.dictConfig"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "simple": {"format": "{levelname} {asctime} {name} - {message}", "style": "{"},
    },
    "handlers": {
        "stream": {"level": "INFO", "class": "logging.StreamHandler", "formatter": "simple"},
    },
    "loggers": {
        "tether": {"handlers": ["stream"], "level": "INFO", "propagate": False},
    },
}

# Substrings of setting and context key names whose values tether masks when it
# prints them (`dag --dry-run`, `runs compare`). Matched case-insensitively.
SECRET_KEYS = ["SECRET", "PASSWORD", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "ACCESS_KEY"]

# --- cloud storage -----------------------------------------------------------------

# S3: endpoint (None: the environment variable AWS_ENDPOINT_URL if set, else
# AWS), region, bucket, and credentials (None: boto's usual lookup: environment,
# ~/.aws, instance role). With STORAGE_BACKEND = "tether.files.storages.s3.S3Storage",
# a STORAGE_ROOT that is not an s3:// URL is a prefix in AWS_STORAGE_BUCKET_NAME.
AWS_S3_ENDPOINT_URL = None
AWS_S3_REGION_NAME = None
AWS_STORAGE_BUCKET_NAME = None
AWS_ACCESS_KEY_ID = None
AWS_SECRET_ACCESS_KEY = None

# Google Cloud Storage: bucket, project, and credentials (None: the default
# application credentials). With STORAGE_BACKEND =
# "tether.files.storages.google.GoogleStorage", a STORAGE_ROOT that is not a gs://
# URL is a prefix in GOOGLE_GCS_BUCKET.
GOOGLE_GCS_BUCKET = None
GOOGLE_CLOUD_PROJECT = None
GOOGLE_APPLICATION_CREDENTIALS = None

# GCS endpoint, e.g. an emulator's http://127.0.0.1:9023. None: the environment
# variable STORAGE_EMULATOR_HOST if set, else Google's. With an emulator and no
# credentials, requests are anonymous.
GOOGLE_GCS_ENDPOINT_URL = None

# --- airflow -----------------------------------------------------------------------

# Used by `tether airflow generate`: DAG id prefix, a Jinja template replacing
# the built-in one, the container image and namespace the pods run in, config
# maps mounted into them, their resources, and the Kubernetes config file.
AIRFLOW_DAG_PREFIX = ""
AIRFLOW_TEMPLATE = None
AIRFLOW_IMAGE = "python:3.11-slim"
AIRFLOW_NAMESPACE = "default"
AIRFLOW_CONFIGMAPS = []
AIRFLOW_POD_RESOURCES = {"requests": {"cpu": "1000m", "memory": "128Mi"}}
AIRFLOW_KUBERNETES_CONFIG = "~/.kube/config"

# --- experiments -------------------------------------------------------------------

# Packages of experiment scripts and parameter files, at the project root.
EXPERIMENTS_MODULE = "experiments"
PARAMS_MODULE = "params"

# Where HTML reports go. None: BASE_DIR/reports.
REPORTS_PATH = None

# Where stage outputs of experiments are cached. None: `cache/` under a local
# STORAGE_ROOT, else BASE_DIR/.tether/cache.
EXPERIMENTS_CACHE_PATH = None

# File each cached stage output as a bundle (data context `experiments`, with
# lineage), so it shows in `tether ls` and `tether lineage`. False keeps only the
# catalog's cache index: cheaper per stage, but outputs are not bundles.
EXPERIMENTS_BUNDLES = True

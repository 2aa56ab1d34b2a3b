"""Local development: DEBUG on, a throwaway secret key, mail printed to the console."""

from .base import *  # noqa: F403
from .base import env, env_list

DEBUG = True
SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
INTERNAL_IPS = ["127.0.0.1"]
SERVE_MEDIA = True
VITRINE_PAGE_CACHE_SECONDS = 0  # see your edits at once without thinking about caches
VITRINE_FRAGMENT_SECONDS = 0  # templates edited in place keep no stale fragment

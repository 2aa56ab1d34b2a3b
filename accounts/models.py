from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person with a login: shopper, vendor staff, editor or site staff."""

    email = models.EmailField("email address", blank=True, db_index=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

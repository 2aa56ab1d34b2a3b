from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo and benchmark data (`manage.py load_demo`): the top layer, which nothing imports."""

    name = "demo"
    verbose_name = "Demo data"

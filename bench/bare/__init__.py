"""A bare Django app, the benchmark's yardstick: no apps, no middleware, no context processors,
no database; one view rendering a 20 KB template with a few variables."""

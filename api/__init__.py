"""The public read API (`/api/v2/`): live, public shops, items and designers, public fields only."""

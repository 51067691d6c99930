"""The demo: a Japanese apparel D2C brand (brand.py) and seeding it through the services
(seed.py)."""

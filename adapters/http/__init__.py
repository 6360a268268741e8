"""`klasbot run`'s HTTP side: /healthz, /readyz and Prometheus /metrics (aiohttp), on the port the
Teams endpoint shares."""

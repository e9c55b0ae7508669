"""Outbound URLs: the one place that decides whether Glare may store,
redirect to, or fetch a URL (``urls``), and the one HTTP client that
fetches them (``fetch``)."""

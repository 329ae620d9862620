"""Imported by the extraction processes' fork server, and only there: loads what parse_html
loads on first use (trafilatura, the language model), so every extraction process forked from
the server starts with them and no page is charged for loading them."""

import trafilatura  # noqa: F401 - imported to be loaded in the server

from transforms.core.language import detect_language

detect_language("loaded")

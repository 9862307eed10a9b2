"""What certificate PDFs need from the system, checked when the app starts.

This module does not import WeasyPrint (about a third of a second): every command and every
server process creates the app, and most never render a PDF.
"""

from __future__ import annotations

from ctypes.util import find_library

from flask import Flask


def check_harfbuzz_subsetting(app: Flask) -> bool:
    """Warn in the log when HarfBuzz's subsetting library is missing: WeasyPrint then falls
    back to fontTools, about five times slower for CJK fonts."""
    available = find_library("harfbuzz-subset") is not None
    if not available:
        app.logger.warning(
            "HarfBuzz subsetting (libharfbuzz-subset) is not available: WeasyPrint "
            "will subset the certificate fonts with fontTools, about 5x slower. Install "
            "libharfbuzz-subset0 (Debian/Ubuntu) or harfbuzz (other systems)."
        )
    return available

"""Certificates: types and templates, issuing (one or in bulk), PDFs, verification, life cycle
and Open Badges."""

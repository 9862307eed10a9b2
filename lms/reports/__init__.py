"""Workforce reports: targets against people holding valid certificates, for coordinators."""

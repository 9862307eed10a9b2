"""Organisations (partners, centres, stations, childcare settings) and districts."""

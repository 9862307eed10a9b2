"""Organisations (university partners, guidance centres, stations, childcare settings) and districts."""

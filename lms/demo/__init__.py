"""Demo data for `lms demo`: organisations, districts and people of every role."""

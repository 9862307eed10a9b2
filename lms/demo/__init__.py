"""Demo data for ``lms demo``: districts, organisations and people of every role.

The command runs the steps listed in :data:`lms.demo.steps.STEPS`, in order, in one unit of
work. Later features (courses, enrolments, certificates) add their own step there; see
:mod:`lms.demo.steps` for the rules a step follows.
"""

"""Hypothesis property and stateful tests against a target, built on the schemas.

The parts, each with one job: :mod:`.plan` (the ``quick``, ``ci`` and ``thorough``
settings profiles and their message budgets), :mod:`.driver` (a synchronous wrapper that
sends generated steps over one connection per agent on an event loop thread, bounded
in messages, time and rate), :mod:`.frames` (what a generated frame is: valid, invalid or
odd, and the checks it gets), :mod:`.record` (running one Hypothesis test and turning its
examples into a :class:`~conformance.results.CaseResult`, with the shrunk failure written
out as a case file). The properties themselves are in :mod:`conformance.properties` and
:mod:`conformance.stateful`; :mod:`.suite` lists and runs them all.
"""

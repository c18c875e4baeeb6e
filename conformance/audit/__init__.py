"""Judge recorded traffic offline: an agent application's requests and an endpoint's replies.

Pure: events of a trace (:mod:`conformance.trace`) in, results out, with the checks,
schemas and pairing ``run`` uses. :mod:`.client` judges a request against the request
tables, :mod:`.server` plans the checks of a reply, :mod:`.contacts` keeps the state the
trace shows, :mod:`.pairing` pairs replies with requests, :mod:`.tally` groups the verdicts
into results in bounded memory, and :mod:`.auditor` joins them. The ``audit`` command and
``serve --judge`` are the thin I/O around it.
"""

from .auditor import Auditor
from .client import ClientJudgement, judge_request
from .tally import Tally

__all__ = ["Auditor", "ClientJudgement", "Tally", "judge_request"]

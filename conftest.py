"""Root conftest: plain ``pytest`` from a source checkout finds the package, and the
project's own tests write nothing into the working tree unasked.

Hypothesis would keep an example database and its caches in ``./.hypothesis``: the
tests' ``@given`` run without a database (``--hypothesis-profile`` still picks another
profile), and the caches go where the suite's runs keep them, the user's cache directory
(``HYPOTHESIS_STORAGE_DIRECTORY`` says where else, when set).
"""

from hypothesis import settings

from conformance.hypo.plan import keep_caches_out_of_cwd

settings.register_profile("lcm-tests", database=None)
settings.load_profile("lcm-tests")
keep_caches_out_of_cwd()

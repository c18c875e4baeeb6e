"""A second, independent implementation of the LCM WebService API, written from the vendor pages only.

It exists to test the suite itself: every point the pages leave open is a switch in
``conformance.foreign.target.Choices``, and the suite must not FAIL any setting of them.
"""

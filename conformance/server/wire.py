"""Envelope member names of the wire binding (DESIGN.md, "Wire binding").

A request is ``{channel, topic, subtopic, source, data}`` and a response ``{channel,
topic, subtopic, message}``; :mod:`conformance.spec` reads the envelopes the same way.
The server needs three of the names before it knows which API a frame is for.
"""

SUBTOPIC = "subtopic"
DATA = "data"
MESSAGE = "message"

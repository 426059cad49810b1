"""What both sides agree on, pure: no sockets, no files, no threads (docs/PROTOCOL.md).

Holds the protocol's JSON formats and headers (protocol), HTTP/1.1 request and response heads
(http11), Range and If-Range (ranges), file names and their percent-encoding (names), sizes
and speeds in words (units), escaping of network text (escaping) and the one table of
sentences (sentences). May import only the standard library, core.errors and core.events;
never core.server, core.client or a front end. Everything here is testable without I/O.
"""

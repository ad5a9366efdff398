"""A simulated Azure Compute RP for VM scale sets, served over real HTTP.

``create_app`` (``app.py``) builds a Starlette app (ARM endpoint in ``arm/``, control API in
``control.py``) around a ``World`` (the ``world`` package): scale sets, VMs and
operations that change on a simulated clock (``clock.py``), lazily, at the start of each
request. Responses copy the wire (reference §3–§14): 202 + async headers
for actions, nextLink paging, ETags, throttling headers and 429s (``throttle.py``),
injected faults (``faults.py``), named scenarios (``scenarios.py``, built by
``scenario_build.py``). ``server.py`` serves it in a thread for tests; ``cli.py`` is
``vmssdash sim``; ``tls.py`` makes a CA for ``--tls``; ``entra.py`` (AUTH's, with
``entra_oauth.py``) adds a fake Entra authority on the same server.
"""

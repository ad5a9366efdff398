"""The simulator's HTTP face: ARM routes answered the way the Compute RP answers them.

One catch-all route takes every ARM request and dispatches on the lower-cased path
segments (ARM paths are case-insensitive: ``virtualMachines`` and ``virtualmachines``,
``powerOff`` and ``poweroff`` all work). Each request:

1. validates ``api-version`` (required; Compute routes accept the known versions from
   2023-09-01 on; ARM routes for subscriptions/resource groups any dated version);
2. may meet an injected fault (``faults.py``), then is charged to its throttling
   policies (``throttle.py``), which may answer 429;
3. advances the world to the simulated now and runs the handler with the world lock held;
4. goes out with the headers every ARM response carries (reference §11).

Long-running operations answer as on the wire: POST actions and DELETE ``202`` with an
empty body, ``Azure-AsyncOperation`` and ``Location: …?monitor=true&api-version=…``; PUT
create ``201`` and update PUT/PATCH ``200`` with the body and ``Azure-AsyncOperation``
only. All URLs are absolute on the server's own base URL and carry the caller's
api-version. Control paths live under ``/_sim/`` (outside ARM's namespace,
``control.py``).

Modules: ``context`` (request and result), ``middleware`` (auth, api-version, faults,
throttling bucket), ``routes`` (the table), ``h_tenant``/``h_scale_sets``/``h_vms``
(handlers per resource), ``helpers`` (shared by handlers), ``pipeline`` (the endpoint).
"""

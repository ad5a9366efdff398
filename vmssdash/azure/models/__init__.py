"""Pydantic models of the Compute REST API payloads vmssdash reads, one module per job.

- ``base``: ``ArmModel`` (wire names, unknown fields ignored) and ``RawModel`` (keeps the
  JSON it came from, so a PUT round-trips what is not modelled);
- ``scaleset``: ``ScaleSet``, its profiles, image reference and upgrade policy;
- ``vm``: ``ScaleSetVM``, its instance view and ``with_identity`` (mirroring ``vm_json``);
- ``operations``: ARM errors, operation and rolling-upgrade status, list pages;
- ``durations``: ISO-8601 durations (``parse_duration``, ``format_duration``).

Import from those modules.
"""

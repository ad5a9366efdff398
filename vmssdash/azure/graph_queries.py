"""The Resource Graph queries vmssdash sends, as plain text shared with the simulator.

The simulator is not a KQL engine: it answers exactly these queries (compared after
collapsing whitespace) and refuses any other with Resource Graph's error shape. Keeping
the texts in one dependency-free module lets both sides agree without the simulator
importing the client.
"""

from __future__ import annotations

#: One row per scale set, with what the fleet view shows about the set itself.
SCALE_SETS = """
resources
| where type =~ 'microsoft.compute/virtualmachinescalesets'
| project id, name, resourceGroup, subscriptionId, location,
    capacity = toint(sku.capacity),
    orchestrationMode = tostring(properties.orchestrationMode),
    upgradeMode = tostring(properties.upgradePolicy.mode),
    provisioningState = tostring(properties.provisioningState)
| order by id asc
"""

#: Per scale set: how many of its Uniform instances Resource Graph knows, how many say
#: they are not on the latest model, and how many failed to provision or are stopped (a
#: deallocated VM is parked on purpose, not unhealthy). Application
#: health is not in Resource Graph; ``latestModelApplied`` may be absent (then stale = 0
#: with known = 0 and the fleet reports the count as unknown).
INSTANCE_COUNTS = """
computeresources
| where type =~ 'microsoft.compute/virtualmachinescalesets/virtualmachines'
| extend scaleSetId = tolower(tostring(split(id, '/virtualMachines/')[0]))
| extend latest = tostring(properties.latestModelApplied)
| extend power = tostring(properties.extended.instanceView.powerState.code)
| extend provisioning = tostring(properties.provisioningState)
| summarize total = count(),
    known = countif(latest in~ ('true', 'false')),
    stale = countif(latest =~ 'false'),
    unhealthy = countif(provisioning =~ 'Failed'
        or (power != '' and power !in~ ('PowerState/running', 'PowerState/deallocated')))
    by scaleSetId
| order by scaleSetId asc
"""


def normalize(query: str) -> str:
    """The query with runs of whitespace collapsed: how the simulator compares texts."""
    return " ".join(query.split())

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
    provisioningState = tostring(properties.provisioningState),
    modelImage = properties.virtualMachineProfile.storageProfile.imageReference
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


#: Flexible members are plain VMs in ``resources`` that name their set in
#: ``properties.virtualMachineScaleSet.id`` (the plain VM schema has no
#: ``latestModelApplied``). Grouped per set and per image (lower case), so the client
#: compares each group's image with the set's model (``SCALE_SETS``' ``modelImage``) by the
#: same rule as ``azure.flexible`` (the fields grouped by are ``models.IMAGE_KEYS``); unhealthy is the rule of ``INSTANCE_COUNTS`` on the power
#: state Resource Graph keeps in ``properties.extended.instanceView``.
FLEXIBLE_MEMBERS = """
resources
| where type =~ 'microsoft.compute/virtualmachines'
| extend scaleSetId = tolower(tostring(properties.virtualMachineScaleSet.id))
| where scaleSetId != ''
| extend image = properties.storageProfile.imageReference
| extend power = tostring(properties.extended.instanceView.powerState.code)
| extend provisioning = tostring(properties.provisioningState)
| summarize total = count(),
    unhealthy = countif(provisioning =~ 'Failed'
        or (power != '' and power !in~ ('PowerState/running', 'PowerState/deallocated')))
    by scaleSetId,
    id = tolower(tostring(image.id)),
    publisher = tolower(tostring(image.publisher)),
    offer = tolower(tostring(image.offer)),
    sku = tolower(tostring(image.sku)),
    version = tolower(tostring(image.version)),
    sharedGalleryImageId = tolower(tostring(image.sharedGalleryImageId)),
    communityGalleryImageId = tolower(tostring(image.communityGalleryImageId))
| order by scaleSetId asc
"""


def normalize(query: str) -> str:
    """The query with runs of whitespace collapsed: how the simulator compares texts."""
    return " ".join(query.split())

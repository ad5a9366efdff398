"""vmssdash: a terminal dashboard for stepping an Azure VM scale set through an image upgrade."""

__version__ = "0.1.0"

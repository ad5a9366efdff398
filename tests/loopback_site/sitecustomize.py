"""Every Python a test starts refuses to leave the machine (see ``loopback_guard``)."""

import loopback_guard

loopback_guard.install()

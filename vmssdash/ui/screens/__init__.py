"""The app's dialogs. Each declares its own keys (shown in its own footer); while one is
open the App disables every dashboard key, so no key escapes a dialog."""

"""A colour-blind-safe theme (Okabe-Ito palette), registered next to Textual's own.

Success is blue rather than green and errors vermillion rather than red, so the two
states that matter most stay apart for the common red-green deficiencies.
"""

from __future__ import annotations

from textual.theme import Theme

OKABE_ITO = Theme(
    name="okabe-ito",
    primary="#56B4E9",  # sky blue: transitions
    secondary="#CC79A7",  # reddish purple: protected
    accent="#F0E442",  # yellow
    warning="#E69F00",  # orange: stale
    error="#D55E00",  # vermillion: failed / unhealthy
    success="#0072B2",  # blue: up to date
    foreground="#E8E8E8",
    background="#101010",
    surface="#1C1C1C",
    panel="#2A2A2A",
    dark=True,
)

THEMES = [OKABE_ITO]

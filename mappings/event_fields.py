"""Chartboost's five Event IDs, from the reference's table, and how each segments.

Operators per field are from Chartboost's customer docs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EventFieldInfo:
    number: int
    sequential: bool
    definition: str
    example_label: str
    example_description: str
    operators: str

    @property
    def choice_label(self) -> str:
        kind = "sequential" if self.sequential else "not sequential"
        return f"{self.number}: {self.definition} ({kind})"


EVENT_FIELDS: dict[int, EventFieldInfo] = {
    1: EventFieldInfo(1, True, "Highest numerical level a user has reached",
                      "Highest level puzzle solved", "Chocolate Fudge Level", ">= > == < <="),
    2: EventFieldInfo(2, False, "User's current level/area",
                      "Area main character is in", "Lunar Caverns", "== !="),
    3: EventFieldInfo(3, True, "The level of the player's character in game",
                      "Level of the character class", "Master Wizard", ">= > == < <="),
    4: EventFieldInfo(4, True, "Extra field for developers to send sequential data",
                      "VIP reward level", "5", ">= > == < <="),
    5: EventFieldInfo(5, False, "Extra field for developers to send non-sequential data",
                      "FTUE completed?", "Tutorial Completed", "== !="),
}

SEQUENTIAL_FIELDS = frozenset(n for n, info in EVENT_FIELDS.items() if info.sequential)
NON_SEQUENTIAL_FIELDS = frozenset(n for n, info in EVENT_FIELDS.items() if not info.sequential)
EVENT_FIELD_CHOICES = [(n, info.choice_label) for n, info in EVENT_FIELDS.items()]

"""Node controllers: each folds events into the event's transaction (key -> value changes).

None of them talks to VPP; they only produce desired state for the scheduler.
"""

"""The event bridge between the service and Redis Streams.

It consumes ``alert.created`` and ``agent.decision.made`` through a consumer
group and books critical alerts (``alert_handler``), relays the outbox's
events to their streams (``outbox_relay``), and derives reminders from the
database (``reminders``). ``event_bridge.EventBridge`` wires them from the
settings; ``actor.BridgeActor`` runs that inside one restartable Ray actor.
All Ray calls live in ``bridge/actor.py``; everything else is plain asyncio,
testable without a cluster.
"""

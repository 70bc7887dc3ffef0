"""Brokers between live sessions and their viewers: in-process (default) and Redis."""

from ashiguard.adapters.broker.fanout import VIEW_BUFFER, FanOut, Subscriber
from ashiguard.adapters.broker.inprocess import InProcessBroker

__all__ = ["VIEW_BUFFER", "FanOut", "InProcessBroker", "Subscriber"]

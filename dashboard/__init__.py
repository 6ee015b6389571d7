"""dashboard: the clinic's side of the MQTT contract; it receives, keeps and shows results.

The door of the package. It reuses the contract in sync/ (message models, credentials) and
never imports device, capture, inference or sim.
"""

from dashboard.client import Subscriber
from dashboard.config import DashboardConfig
from dashboard.receiver import Receiver
from dashboard.store import Store
from dashboard.watch import Watcher, watch_main

__all__ = ["DashboardConfig", "Receiver", "Store", "Subscriber", "Watcher", "watch_main"]

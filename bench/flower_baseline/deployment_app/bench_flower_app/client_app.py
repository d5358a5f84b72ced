"""The ClientApp: each train message fits the global model on this SuperNode's partition,
read from the file its `--node-config` names (`partition-id=I data-path="..."`), as a
Worker reads its data from its own disk."""

from __future__ import annotations

import numpy as np
from flwr.app import Context, Message
from flwr.clientapp import ClientApp

from bench.flower_baseline.message_api import train_reply

app = ClientApp()


@app.train()
def train(message: Message, context: Context) -> Message:
    """Local training of the received global arrays; the reply carries the new ones."""
    with np.load(str(context.node_config["data-path"])) as partition:
        data = (partition["features"], partition["labels"])
    return train_reply(message, int(context.node_config["partition-id"]),
                       str(context.run_config["model"]), data,
                       int(context.run_config["local-steps"]) or None)

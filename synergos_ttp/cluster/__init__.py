"""SynCluster: the TTP's engine jobs carried over RabbitMQ.

`snapshot` moves archive records between the Director (the only archive writer) and a cluster
TTP; `dispatch` is the Director's engine, whose jobs publish to the queues and wait for the
`completed` report; `consumer` is the cluster TTP's side, running each job on its grid;
`tracking` replays a finished job's records into the Director's MLflow store.
"""

from synergos_ttp.cluster.consumer import ClusterJobHandler, serve_cluster_jobs
from synergos_ttp.cluster.dispatch import CompletionBoard, DispatchingEngine

__all__ = ["ClusterJobHandler", "CompletionBoard", "DispatchingEngine", "serve_cluster_jobs"]

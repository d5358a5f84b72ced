"""SynCluster: the TTP's engine jobs carried over RabbitMQ.

`snapshot` moves archive records between the Director (the only archive writer) and a cluster
TTP; `dispatch` is the Director's engine, whose jobs publish to the queues and wait for the
`completed` report; `consumer` is the cluster TTP's side, running each job on its grid;
`tracking` replays a finished job's records into the Director's MLflow store; `trials` runs
the Director's optimisation trials as cluster jobs, several at once.
"""

from synergos_ttp.cluster.consumer import ClusterJobHandler, serve_cluster_jobs
from synergos_ttp.cluster.dispatch import CompletionBoard, DispatchingEngine
from synergos_ttp.cluster.trials import ClusterTrialExecutor, cluster_executor_factory

__all__ = ["ClusterJobHandler", "ClusterTrialExecutor", "CompletionBoard", "DispatchingEngine",
           "cluster_executor_factory", "serve_cluster_jobs"]

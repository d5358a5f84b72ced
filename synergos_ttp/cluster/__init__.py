"""SynCluster, the cluster TTP's side: the TTP's engine jobs carried over RabbitMQ.

`snapshot` moves archive records between the Director (the only archive writer, in
`synergos_director`) and a cluster TTP; `consumer` runs each job on this TTP's grid;
`progress` reports a running job's progress on `completed`.
"""

from synergos_ttp.cluster.consumer import ClusterJobHandler, serve_cluster_jobs

__all__ = ["ClusterJobHandler", "serve_cluster_jobs"]

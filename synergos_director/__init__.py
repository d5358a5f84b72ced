"""The Synergos Director: the SynCluster front door and the only writer of its archive.

It serves the TTP's APIs (the same code), but its train and evaluate jobs are published to
RabbitMQ and run by cluster TTPs (`synergos_ttp.cluster`); their results come back on the
`completed` queue and are archived here.

`dispatch` is the Director's engine, whose jobs publish to the queues and wait for the
`completed` report; `tracking` replays a finished job's records into the Director's MLflow
store; `trials` runs the Director's optimisation trials as cluster jobs, several at once.
"""

ROLE = "director"

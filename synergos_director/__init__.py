"""The Synergos Director: the SynCluster front door and the only writer of its archive.

It serves the TTP's APIs (the same code), but its train and evaluate jobs are published to
RabbitMQ and run by cluster TTPs (`synergos_ttp.cluster`); their results come back on the
`completed` queue and are archived here.
"""

ROLE = "director"

"""Mechanisms every Synergos package shares, on the standard library only (so the Driver SDK
may import them too): durable files and locks (`files`), retry delays (`backoff`), timestamps
(`clock`), the dataset metas (`metas`), URL hosts and the default command port (`hosts`), and
the containers' health check (`healthcheck`). It imports no other Synergos package."""

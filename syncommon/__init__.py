"""Mechanisms every Synergos package shares, on the standard library only (so the Driver SDK
may import them too): durable files and locks (`files`), retry delays (`backoff`), timestamps
(`clock`), the dataset metas (`metas`) and URL host formatting (`hosts`). It imports no other
Synergos package."""

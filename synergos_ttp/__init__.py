"""Synergos TTP: the trusted third party that orchestrates federated training.

`python -m synergos_ttp` starts the service; `synergos_ttp.app.create_ttp_app` builds its
Flask app; `synergos_ttp.jobs.JobRunner` runs long work as tracked jobs.
"""

"""`make images` with BuildKit (`DOCKER_BUILDKIT=1`): the same Dockerfiles and script build every
role's image, with no `# syntax=` frontend to fetch from a registry. The other container tests
use the legacy builder's images, built after this test replaces these tags."""

from __future__ import annotations

import json

import pytest

from tests.containers.conftest import build_images
from tests.containers.engine import PrivateEngine

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(4800)]
ROLES = {"synergos_worker:latest": "worker", "synergos_ttp:synbasic": "ttp",
         "synergos_ttp:syncluster": "ttp", "synergos_director:syncluster": "director",
         "synergos_mq:latest": "mq"}


def test_buildkit_builds_every_image(engine: PrivateEngine) -> None:
    built = build_images(engine, DOCKER_BUILDKIT="1")
    for image, role in ROLES.items():
        if role != "mq":  # the script shows the MQ build's output only when it fails
            # BuildKit's progress names each image it writes (the legacy builder's does not)
            assert f"naming to docker.io/library/{image} done" in built.stderr, image
        labels = json.loads(engine.docker("image", "inspect", image).stdout)[0]["Config"]["Labels"]
        assert labels["synergos.role"] == role, (image, labels)

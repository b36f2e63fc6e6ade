"""configs/cluster/: the Kubeflow TFJob manifest and the two-host TF_CONFIG example."""

import json

import yaml

from dptn_tf.cli import train
from helpers.train_cli import REPO

CLUSTER = REPO / "configs" / "cluster"
REPLICA_TYPES = {"Chief", "Master", "Worker", "PS", "Evaluator"}
RESTART_POLICIES = {"Always", "OnFailure", "Never", "ExitCode"}


def test_tfjob_manifest_has_what_the_training_operator_requires():
    """The TFJob CRD's required fields (spec.tfReplicaSpecs, each pod's containers, each
    container's and volume's name) and the operator's own checks (known replica types, one chief,
    a container named "tensorflow" with an image)."""
    job = yaml.safe_load((CLUSTER / "tfjob.yaml").read_text())
    assert job["apiVersion"] == "kubeflow.org/v1" and job["kind"] == "TFJob"
    assert job["metadata"]["name"]
    specs = job["spec"]["tfReplicaSpecs"]
    assert set(specs) <= REPLICA_TYPES and specs["Chief"]["replicas"] == 1
    assert specs["Worker"]["replicas"] >= 1
    commands = set()
    for replica_type, spec in specs.items():
        assert isinstance(spec["replicas"], int) and spec["replicas"] >= 1, replica_type
        assert spec["restartPolicy"] in RESTART_POLICIES, replica_type
        pod = spec["template"]["spec"]
        volumes = {volume["name"] for volume in pod.get("volumes", [])}
        assert all(volume["name"] for volume in pod.get("volumes", []))
        (container,) = [c for c in pod["containers"] if c["name"] == "tensorflow"]
        assert container["image"], replica_type
        assert container["resources"]["limits"]["nvidia.com/gpu"] == 1, replica_type
        for mount in container.get("volumeMounts", []):
            assert mount["name"] in volumes and mount["mountPath"].startswith("/"), replica_type
        commands.add(tuple(container["command"]))
    # Every replica runs the same train.py, which accepts the command (from the repository root).
    (command,) = commands
    assert command[:2] == ("python", "train.py")
    args = train.parse_args(command[2:])
    assert args.strategy == "multiworker"
    args.config = REPO / args.config
    config = train.resolve_config(args)
    assert config.data.root == "/shared/fashion"
    assert config.train.run_dir == "/shared/runs/fashion"


def test_two_host_tf_config_describes_one_cluster_of_two_workers():
    configs = [json.loads((CLUSTER / f"tf_config.host{i}.json").read_text()) for i in (0, 1)]
    assert configs[0]["cluster"] == configs[1]["cluster"]
    assert len(configs[0]["cluster"]["worker"]) == 2
    assert [c["task"] for c in configs] == [
        {"type": "worker", "index": 0},
        {"type": "worker", "index": 1},
    ]

"""Photo passes on a real Ray cluster (nodes started on loopback): exemplars, the activation
atlas's sample, the photo statistics, concepts' vectors and the twins' correlations give the
bytes of a pass in one process, with 1, 2 and 3 nodes; a killed worker or driver changes nothing; bad input gets
one line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from convscope.cli import main
from convscope.data.activation_samples import SAMPLES_FILE, sample_activations
from convscope.data.photo_pass import SAVED_KINDS
from convscope.data.photo_sources import PhotoFolder
from convscope.data.photo_stats import photo_statistics
from convscope.data.vector_shards import VectorDraw, collect_vectors
from convscope.io.builtin_photos import builtin_photos
from convscope.jobs.cluster.connect import RayCluster, RayClusterError
from convscope.jobs.cluster.photo_shards import RayShards
from convscope.jobs.exemplars import STATE_FILE
from convscope.methods.twins import find_twins

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'convscope[ray]'")
sys.path.insert(0, str(Path(__file__).parent))
from helpers import assert_one_line_error, cli  # noqa: E402
from ray_nodes import free_port, loopback_cluster, run_killing_a_task  # noqa: E402

pytestmark = pytest.mark.xdist_group("ray")  # `ray stop --force` stops every cluster: one at a time

PHOTOS = 70
EXEMPLARS = ["--layers", "block3,head,logits", "--batch", "4", "--top", "3", "--workers", "0"]


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    """70 crops of the built-in photos in nested folders, a file that is no image and a 1x1 photo."""
    root = tmp_path_factory.mktemp("ray_photos") / "photos"
    rng = np.random.default_rng(3)
    photos = builtin_photos()
    for i in range(PHOTOS):
        pixels = photos[i % len(photos)].pixels
        h, w = pixels.shape[:2]
        side = int(min(h, w) * rng.uniform(0.3, 1.0))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        folder = root / ("a" if i < 40 else "b/c")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(pixels[top:top + side, left:left + side])).resize((160, 160)) \
            .save(folder / f"p{i:03d}.{'jpg' if i % 3 else 'png'}")
    (root / "a" / "broken.jpg").write_text("not an image")
    Image.new("RGB", (1, 1)).save(root / "b" / "tiny.png")
    return root


@pytest.fixture(scope="module")
def nodes():
    with loopback_cluster(1) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def one_process(model, photo_folder, tmp_path_factory) -> dict:
    """Every pass in this process: the exemplars' folder, the sample's file, the statistics and
    the vectors' folder."""
    out = tmp_path_factory.mktemp("one_process")
    assert main(["exemplars", "efficientnet-lite0", "--photos", str(photo_folder), "--out", str(out / "ex"),
                 *EXEMPLARS]) == 0
    sample_activations(model, "block8", PhotoFolder(photo_folder, workers=0), out / "aa", samples=300, seed=2, batch=8)
    collect_vectors(model, "head", PhotoFolder(photo_folder, workers=0), out / "vec", VectorDraw(400, 0.2, 1), batch=4)
    return {"out": out, "stats": statistics(model, PhotoFolder(photo_folder, workers=0)),
            "twins": twin_scores(model, PhotoFolder(photo_folder, workers=0))}


def twin_scores(model, source: PhotoFolder) -> list[tuple]:
    report = find_twins(model, "stem", source, angles=[90, 180], threshold=-1.0, margin=-2.0, batch=8)
    return [(p.unit, p.twin, p.angle, p.score, p.unrotated) for p in report.pairs]


def statistics(model, source: PhotoFolder) -> dict:
    stats = photo_statistics(model, ["block5", "head"], source, top=2, low=2, batch=8)
    return {name: {f"{label}.{key}": value for label, kind in (("read", s.read), ("after", s.after), ("low", s.low))
                   if kind is not None for key, value in vars(kind).items()}
            | {"readable": s.readable, "skipped": source.skipped} for name, s in stats.items()}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def same_statistics(a: dict, b: dict) -> bool:
    for name in a:
        for key, value in a[name].items():
            other = b[name][key]
            if isinstance(value, torch.Tensor):
                if not (value.dtype == other.dtype and torch.equal(value, other)):
                    return False
            elif value != other:
                return False
    return True


def twins_summary(photo_folder: Path, capsys, *ray: str) -> str:
    """What `convscope twins --summary --json` prints for the stem over the folder."""
    capsys.readouterr()  # what earlier commands printed
    assert main(["twins", "efficientnet-lite0", "stem", "--summary", "--photos", str(photo_folder), "--json",
                 *ray]) == 0
    return capsys.readouterr().out


def test_passes_on_one_two_and_three_nodes_equal_one_process(model, photo_folder, nodes, one_process, tmp_path,
                                                            capsys):
    single = one_process["out"]
    assert json.loads((single / "ex" / "exemplars.json").read_text())["skipped"]  # the stray files are there
    summary = twins_summary(photo_folder, capsys)
    for count in (1, 2, 3):
        while nodes.nodes < count:
            nodes.add_node()
        out = tmp_path / f"nodes{count}"
        assert main(["exemplars", "efficientnet-lite0", "--photos", str(photo_folder), "--out", str(out / "ex"),
                     *EXEMPLARS, "--ray", nodes.address]) == 0
        assert files_of(out / "ex") == files_of(single / "ex"), f"exemplars on {count} nodes"
        assert twins_summary(photo_folder, capsys, "--ray", nodes.address) == summary, f"twins on {count} nodes"
        cluster = RayCluster(nodes.address)
        try:
            assert cluster.slots == count
            runner = RayShards(cluster)
            sample_activations(model, "block8", PhotoFolder(photo_folder, workers=0, runner=runner), out / "aa",
                               samples=300, seed=2, batch=8)
            assert (out / "aa" / SAMPLES_FILE).read_bytes() == (single / "aa" / SAMPLES_FILE).read_bytes()
            collect_vectors(model, "head", PhotoFolder(photo_folder, workers=0, runner=runner), out / "vec",
                            VectorDraw(400, 0.2, 1), batch=4)
            assert files_of(out / "vec") == files_of(single / "vec"), f"vectors on {count} nodes"
            assert same_statistics(statistics(model, PhotoFolder(photo_folder, workers=0, runner=runner)),
                                   one_process["stats"]), f"statistics on {count} nodes"
            twins = twin_scores(model, PhotoFolder(photo_folder, workers=0, runner=runner))
            assert twins == one_process["twins"], f"twins on {count} nodes"
        finally:
            cluster.close()


def driver(photo_folder: Path, out: Path, address: str) -> list[str]:
    return [sys.executable, "-m", "convscope", "exemplars", "efficientnet-lite0", "--photos", str(photo_folder),
            "--out", str(out), *EXEMPLARS, "--checkpoint-every", "1", "--ray", address]


def test_a_killed_worker_and_a_killed_driver_change_nothing(photo_folder, nodes, one_process, tmp_path):
    single = files_of(one_process["out"] / "ex")
    out = tmp_path / "worker_killed"
    killed, run = run_killing_a_task(driver(photo_folder, out, nodes.address), "_read_task")
    assert killed, "no shard task was seen running"
    assert run.returncode == 0, run.stderr
    assert files_of(out) == single

    out = tmp_path / "driver_killed"
    child = subprocess.Popen(driver(photo_folder, out, nodes.address), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and child.poll() is None and not merged_shards(out / STATE_FILE):
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert merged_shards(out / STATE_FILE) and not (out / "exemplars.json").exists()
    rerun = subprocess.run(driver(photo_folder, out, nodes.address), capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    assert files_of(out) == single


def merged_shards(path: Path) -> int:
    """The shards merged in a saved state (0 without one)."""
    try:
        with torch.serialization.safe_globals(SAVED_KINDS):
            return torch.load(path, weights_only=True)["state"].merged
    except (FileNotFoundError, EOFError, RuntimeError):
        return 0


def test_photos_a_worker_cannot_see_are_named(model, photo_folder, nodes):
    listed = PhotoFolder(photo_folder, workers=0).names
    cluster = RayCluster(nodes.address)
    try:
        source = PhotoFolder(photo_folder, workers=0, names=listed + ["gone/x.jpg", "gone/y.jpg"],
                             runner=RayShards(cluster))
        with pytest.raises(RayClusterError, match=r"cannot see 2 of the photos .*gone/x.jpg, gone/y.jpg"):
            photo_statistics(model, ["block3"], source, batch=16)
    finally:
        cluster.close()


def one_line_error(argv: list[str], words: str, env: dict | None = None) -> None:
    assert_one_line_error(cli(*argv, env=env, timeout=300), words)


def test_bad_clusters_get_one_line(photo_folder, tmp_path):
    out = tmp_path / "never"
    base = ["exemplars", "efficientnet-lite0", "--photos", str(photo_folder), "--out", str(out)]
    one_line_error([*base, "--ray", f"127.0.0.1:{free_port()}"], "no Ray cluster answers")
    one_line_error([*base, "--ray", "nowhere"], "give auto, or a cluster address")
    one_line_error(["stats", "efficientnet-lite0", "block3", "--ray", "auto"], "give --photos DIR")
    one_line_error([*base, "--gpus-per-task", "1"], "--gpus-per-task is for --ray")
    no_ray = tmp_path / "no_ray"
    no_ray.mkdir()
    (no_ray / "ray.py").write_text("raise ImportError('No module named ray')\n")  # Ray not installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(no_ray), os.environ.get("PYTHONPATH", "")])}
    one_line_error([*base, "--ray", "auto"], "pip install 'convscope[ray]'", env=env)
    assert not out.exists()

"""The explorer: its pages and API over a workspace (a planted network's units rendered on
demand into an atlas the atlas command continues), one job for the same work, bad requests get
one line, the command refuses bad input in one line, exports, and stops cleanly on Ctrl-C."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import convscope
from convscope.app.routes import create_app
from convscope.app.worker import WAITED, WATCHED, Worker
from convscope.app.workspace import Workspace
from convscope.errors import ConvscopeError
from helpers import ROOT, assert_one_line_error, cli, free_port
from trust_nets import COLOUR_NAMES, PLANTED_FACTORY, planted_model, write_colour_photos

FAST = {"recipe": convscope.get_recipe("lucid", steps=4, size=32), "batch": 8}


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_colour_photos(tmp_path_factory.mktemp("photos"), 20)


@pytest.fixture(scope="module")
def served(photos, tmp_path_factory):
    from starlette.testclient import TestClient

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path_factory.mktemp("ws") / "workspace"), workers=0,
                                      concept_epochs=2, **FAST)
    workspace = Workspace(spec.folder, planted_model(labels=COLOUR_NAMES), str(photos), spec)
    worker = Worker()
    with TestClient(create_app(workspace, worker)) as client:
        yield client, workspace, worker
    worker.stop()


def finished(client, job: dict, seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        state = client.get(f"/api/jobs/{job['id']}").json()
        if state["state"] in ("done", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"{job['id']} did not end")


def test_a_layer_renders_when_asked_and_its_unit_pages_are_the_atlas_s(served):
    client, workspace, _worker = served
    home = client.get("/")
    assert home.status_code == 200 and 'href="/layer/conv3"' in home.text
    assert client.get("/layer/conv3").status_code == 200 and client.get("/layer/nope").status_code == 404
    first = client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json()
    again = client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json()
    assert first["id"] == again["id"] == "layer:conv3"  # two pages asking share one job
    state = finished(client, first)
    assert state["state"] == "done" and state["done"] == state["total"] == 5, state
    assert client.get("/api/layers/conv3/units").json()["rendered"] == [0, 1, 2, 3, 4]
    page = client.get("/atlas/units/conv3/0002.html")
    assert page.status_code == 200 and "conv3:2" in page.text
    assert client.get("/atlas/units/conv3/0002.thumb.png").headers["content-type"] == "image/png"
    assert client.get("/atlas/../../etc/passwd").status_code == 404
    assert [layer["rendered"] for layer in client.get("/api/layers").json() if layer["name"] == "conv3"] == [5]
    events = client.get(f"/api/jobs/{first['id']}/events")
    assert events.headers["content-type"].startswith("text/event-stream")
    assert json.loads(events.text.strip().splitlines()[-1].removeprefix("data: "))["state"] == "done"


def test_a_unit_page_shows_its_record_and_computes_its_circuit_once(served):
    client, workspace, worker = served
    finished(client, client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json())
    page = client.get("/unit/conv3/2").text
    assert 'src="/atlas/units/conv3/0002.png"' in page and "top photo 1" in page and "its atlas page" in page
    assert client.get("/unit/conv3/5").status_code == 404 and client.get("/unit/nope/1").status_code == 404
    assert client.get("/api/units/conv3/2").json()["circuit"] is None
    job = client.post("/api/jobs", json={"kind": "circuit", "layer": "conv3", "unit": 2}).json()
    assert worker.jobs[job["id"]].priority == WAITED  # ahead of a layer's render, which gives way to it
    state = finished(client, job)
    assert state["state"] == "done", state
    circuit = state["result"]
    assert circuit["input_layer"] == "conv2" and circuit["built_from"][0]["unit"] == 2  # conv3:2 reads conv2:2
    assert circuit["classes"][0]["name"] == "blue"  # and drives the class of its colour
    assert client.get("/" + circuit["page"]).status_code == 200
    assert client.get("/api/units/conv3/2").json()["circuit"] == circuit  # kept: the page shows it at once
    assert '"input_layer": "conv2"' in client.get("/unit/conv3/2").text
    refused = client.post("/api/jobs", json={"kind": "circuit", "layer": "conv1", "unit": 0})
    assert refused.status_code == 400 and "first layer" in refused.json()["error"]


def test_a_unit_s_top_photos_get_its_map_over_each(served):
    from io import BytesIO

    import numpy as np
    from PIL import Image

    client, workspace, _worker = served
    finished(client, client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json())
    assert 'id="maps"' in client.get("/unit/conv3/1").text  # the page asks for them
    state = finished(client, client.post("/api/jobs", json={"kind": "maps", "layer": "conv3", "unit": 1}).json())
    assert state["state"] == "done", state
    maps = state["result"]
    assert len(maps["maps"]) == len(maps["photos"]) == 8 and maps == workspace.unit_maps("conv3", 1)
    first = np.asarray(Image.open(BytesIO(client.get("/" + maps["maps"][0]).content)).convert("RGB")).astype(float)
    assert first.shape[:2] == (64, 64) and first[..., 0].mean() > first[..., 2].mean()  # heat (red, yellow) over it
    assert maps["maps"][0] in client.get("/unit/conv3/1").text and 'id="maps"' not in client.get("/unit/conv3/1").text
    refused = client.post("/api/jobs", json={"kind": "maps", "layer": "logits", "unit": 1})
    assert refused.status_code == 400 and "no positions to map" in refused.json()["error"]


def test_the_map_of_a_unit_is_where_it_fires(model):
    import numpy as np

    from convscope.io.builtin_photos import builtin_photos
    from trust_nets import PALETTE, SIDE

    halves = np.zeros((SIDE, SIDE, 3), dtype=np.uint8)
    halves[:, :SIDE // 2], halves[:, SIDE // 2:] = (PALETTE[1].numpy() * 255), (PALETTE[0].numpy() * 255)
    (picture,) = convscope.api.unit_maps(planted_model(), "conv3", 1, [halves])  # conv3:1 detects green
    colour = picture.pixels.max(axis=2).astype(float) - picture.pixels.min(axis=2)  # heat is coloured, the rest gray
    assert colour[:, 4:SIDE // 2 - 4].mean() > 50 > 5 > colour[:, SIDE // 2 + 4:-4].mean()
    (real,) = convscope.api.unit_maps(model, "block8", 12, [builtin_photos()[0].pixels])  # the real network too
    assert real.pixels.shape == (model.input_size, model.input_size, 3)
    with pytest.raises(convscope.ConvscopeError, match="no positions to map"):
        convscope.api.unit_maps(model, "logits", 1, [halves])


def test_a_layer_s_concepts_are_learned_on_demand_and_found(served):
    client, workspace, _worker = served
    assert "learn its concepts" in client.get("/layer/conv2").text
    state = finished(client, client.post("/api/jobs", json={"kind": "concepts", "layer": "conv2"}).json(), 300)
    assert state["state"] == "done", state
    assert [layer["concepts"] for layer in client.get("/api/layers").json() if layer["name"] == "conv2"] == [
        state["result"]["count"]]
    assert "<th>concepts</th>" in client.get("/").text
    assert state["result"]["page"] == "concepts/conv2/index.html" and client.get("/concepts/conv2/index.html").status_code == 200
    assert 'href="/concepts/conv2/index.html"' in client.get("/layer/conv2").text
    concepts = client.get("/api/units/conv2/1").json()["concepts"]
    assert concepts and concepts == sorted(concepts, key=lambda c: -c["weight"])
    assert client.get("/" + concepts[0]["page"]).status_code == 200 and concepts[0]["page"] in client.get("/unit/conv2/1").text
    found = client.get("/api/search", params={"q": f"conv2 {concepts[0]['name']}"}).json()
    assert [f["concept"] for f in found] == [concepts[0]["name"]]
    refused = client.post("/api/jobs", json={"kind": "concepts", "layer": "logits"})
    assert refused.status_code == 400 and "no concepts to learn" in refused.json()["error"]
    convscope.concepts(workspace.model, "conv1", workspace.photos, workspace.concepts_folder("conv1"), epochs=1,
                       concepts=4, k=2, method="sae", workers=0, progress=False, **FAST)  # the command's folder shows in the app
    assert 'href="/concepts/conv1/index.html"' in client.get("/layer/conv1").text
    kept = finished(client, client.post("/api/jobs", json={"kind": "concepts", "layer": "conv1"}).json())
    assert kept["result"]["count"] == 4  # what the command learned is kept, not learned again


def test_a_layer_s_exemplars_pass_runs_on_demand_and_shows_on_its_unit_pages(served):
    client, workspace, _worker = served
    assert "find its dataset examples" in client.get("/unit/conv3/1").text
    assert client.get("/api/units/conv3/1/exemplars.png").status_code == 404
    state = finished(client, client.post("/api/jobs", json={"kind": "exemplars", "layer": "conv3"}).json())
    assert [layer["exemplars"] for layer in client.get("/api/layers").json() if layer["name"] == "conv3"] == [True]
    assert state["state"] == "done" and state["result"]["photos"] == 20, state
    sheet = client.get("/api/units/conv3/1/exemplars.png")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "image/png"
    from io import BytesIO

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(sheet.content)).convert("RGB"))
    red, green, blue = pixels[:pixels.shape[0] // 4, :pixels.shape[1] // 4].reshape(-1, 3).mean(axis=0)
    assert green > 1.5 * max(red, blue)  # conv3:1 detects the green photos: its best example is green
    assert (workspace.root / "exemplars" / "conv3" / "sheets" / "0001.png").is_file()  # drawn once, then kept
    assert 'src="/api/units/conv3/1/exemplars.png"' in client.get("/unit/conv3/1").text
    assert client.get("/api/units/conv3/1").json()["exemplars"] is True


def test_a_dropped_photo_is_kept_and_explained(served, photos):
    client, workspace, _worker = served
    photo = sorted(photos.iterdir())[0]
    kept = client.post("/api/photos", content=photo.read_bytes(), headers={"content-type": "image/png"}).json()
    assert kept["photo"].startswith("photo-") and (workspace.root / "photos" / kept["photo"]).is_file()
    for body, kind, words in [(b"hello", "text/plain", "not a photo"), (b"not a png", "image/png", "cannot be read")]:
        answer = client.post("/api/photos", content=body, headers={"content-type": kind})
        assert answer.status_code == 400 and words in answer.json()["error"], answer.json()
    assert sorted(p.name for p in (workspace.root / "photos").iterdir()) == [kept["photo"]]  # nothing half-kept
    too_big = client.post("/api/photos", content=b"0" * (20 * 2**20 + 1), headers={"content-type": "image/png"})
    assert too_big.status_code == 400 and "20 MB" in too_big.json()["error"]
    state = finished(client, client.post("/api/jobs", json={"kind": "explain", "photo": kept["photo"],
                                                            "layer": "conv3"}).json())
    assert state["state"] == "done", state
    assert state["result"]["top_class"]["name"] in COLOUR_NAMES and client.get("/" + state["result"]["page"]).status_code == 200
    for body, words in [({"kind": "explain", "photo": "../etc/passwd", "layer": "conv3"}, "no dropped photo"),
                        ({"kind": "explain", "photo": kept["photo"], "layer": "logits"}, "cannot explain")]:
        answer = client.post("/api/jobs", json=body)
        assert answer.status_code == 400 and words in answer.json()["error"]


def test_the_app_searches_the_rendered_units_by_name(served):
    client, _workspace, _worker = served
    assert client.get("/api/search", params={"q": ""}).json() == []
    finished(client, client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json())
    found = client.get("/api/search", params={"q": "conv3:2"}).json()
    assert [(f["layer"], f["unit"]) for f in found] == [("conv3", 2)]
    assert client.get(found[0]["page"]).status_code == 200 and 'id="search"' in client.get("/").text


def test_the_atlas_command_continues_the_workspace_s_atlas(served, photos):
    """The workspace's atlas is an atlas of the same settings: the command completes it."""
    client, workspace, _worker = served
    finished(client, client.post("/api/jobs", json={"kind": "layer", "layer": "conv3"}).json())
    summary = convscope.atlas(workspace.model, workspace.atlas_dir, photos=str(photos), workers=0, progress=False,
                              **FAST)
    assert summary.present == summary.units and summary.rendered == summary.units - 5


def test_an_objective_renders_live_and_is_kept(served):
    client, workspace, _worker = served
    job = client.post("/api/jobs", json={"kind": "render", "objective": "conv3:1 - 0.5*conv3:2", "steps": 4}).json()
    state = finished(client, job)
    assert state["state"] == "done", state
    assert state["preview"].startswith("renders/") and "preview-00004" in state["preview"]  # the last step shown
    assert isinstance(state["preview_value"], float)  # with its activation
    record = state["result"]
    assert client.get("/" + record["file"]).headers["content-type"] == "image/png"
    kept = json.loads((workspace.renders_dir / f"{record['name']}.json").read_text())
    assert kept == record and kept["steps"] == 4 and isinstance(kept["activation"], float)
    assert "conv3:1 - 0.5*conv3:2" in client.get("/render").text
    other = finished(client, client.post("/api/jobs", json={"kind": "render", "objective": "conv3:1", "steps": 4,
                                                            "recipe": "keras2016"}).json())
    assert other["result"]["recipe"] == "keras2016" and other["id"].endswith(":keras2016"), other


@pytest.mark.parametrize("body, words", [
    ({"kind": "layer", "layer": "nope"}, "no layer 'nope'"),
    ({"kind": "layer", "layer": "conv3", "unit": 9}, "no unit '9' in conv3"),
    ({"kind": "render", "objective": "conv9:1"}, "unknown layer"),
    ({"kind": "render", "objective": "conv3:1 +", "steps": 4}, ""),
    ({"kind": "render", "objective": "conv3:1", "steps": 0}, "steps must be"),
    ({"kind": "dream"}, "unknown job kind"),
    ({"kind": "render", "objective": "conv3:1", "recipe": "my.py:recipe"}, "unknown recipe 'my.py:recipe'"),
])
def test_bad_requests_get_one_line(served, body, words):
    client, _workspace, _worker = served
    answer = client.post("/api/jobs", json=body)
    assert answer.status_code == 400 and words in answer.json()["error"] and "\n" not in answer.json()["error"]


def test_the_workspace_s_folders_answer_404_before_they_exist(photos, tmp_path):
    from starlette.testclient import TestClient

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, **FAST)
    worker = Worker()
    with TestClient(create_app(Workspace(spec.folder, planted_model(), str(photos), spec), worker)) as client:
        for path in ("atlas/index.html", "atlas/%2e%2e/%2e%2e/etc/passwd", "explained/x/index.html", "maps/x/1.png",
                     "previews/conv3/0001.png", "concepts/conv2/index.html", "circuits/x/index.html"):
            assert client.get("/" + path).status_code == 404, path
    worker.stop()


def test_forms_of_other_sites_and_other_hosts_are_refused(served):
    client, _workspace, _worker = served
    assert client.post("/api/jobs", data={"kind": "layer", "layer": "conv3"}).status_code == 400
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400


def test_bad_serve_input_gets_one_line(tmp_path, photos):
    assert_one_line_error(cli("serve", PLANTED_FACTORY, "--photos", str(tmp_path / "none")), "not found")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_one_line_error(cli("serve", PLANTED_FACTORY, "--photos", str(photos), "--port", str(port), "--folder",
                                  str(tmp_path / "ws")), "give another --port")
    assert_one_line_error(cli("serve", PLANTED_FACTORY, "--photos", str(photos), "--port", "0"), "--port must be")


def test_a_workspace_of_another_network_is_refused(tmp_path, photos):
    atlas = tmp_path / "ws" / "atlas"
    atlas.mkdir(parents=True)
    (atlas / "job.json").write_text(json.dumps({"job": "atlas", "model": "efficientnet-lite0"}))
    assert_one_line_error(cli("serve", PLANTED_FACTORY, "--photos", str(photos), "--folder", str(tmp_path / "ws"), "--port",
                              str(free_port())), "holds the work of efficientnet-lite0")
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == ["atlas"]


def test_beyond_this_machine_every_request_needs_the_token(tmp_path, photos):
    import httpx2 as httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "convscope", "serve", PLANTED_FACTORY, "--photos", str(photos), "--folder",
                               str(tmp_path / "ws"), "--host", "0.0.0.0", "--port", str(port), "--workers", "0"],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stderr.readline()
        assert "?token=" in line, line
        token = line.split("?token=")[1].split()[0]
        base = f"http://127.0.0.1:{port}"
        refused = httpx.get(f"{base}/api/layers")
        assert refused.status_code == 403 and "needs its token" in refused.text
        assert httpx.get(f"{base}/api/layers", params={"token": "wrong"}).status_code == 403
        assert httpx.post(f"{base}/api/jobs", json={"kind": "layer", "layer": "conv3"}).status_code == 403
        opened = httpx.get(f"{base}/", params={"token": token})
        assert opened.status_code == 200 and "HttpOnly" in opened.headers["set-cookie"]
        assert httpx.get(f"{base}/api/layers", cookies={"convscope_token": token}).status_code == 200
        assert httpx.get(f"{base}/api/layers", headers={"Authorization": f"token {token}"}).status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_python_starts_the_same_app_and_gives_its_address(tmp_path, photos):
    import httpx2 as httpx

    explorer = convscope.serve(planted_model(), photos, folder=str(tmp_path / "ws"), port=free_port(), workers=0,
                               **FAST)
    try:
        assert explorer.url.startswith("http://127.0.0.1:") and "token" not in explorer.url
        assert explorer.url in explorer._repr_html_()
        assert 'href="/layer/conv3"' in httpx.get(explorer.url).text
    finally:
        explorer.stop()
    with pytest.raises(convscope.ConvscopeError, match="export"):
        convscope.serve(planted_model(), photos, folder=str(tmp_path / "ws"), export=str(tmp_path / "site"))


def test_serve_exports_pages_and_stops_cleanly_on_ctrl_c(tmp_path, photos):
    folder, out = tmp_path / "ws", tmp_path / "site"
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "convscope", "serve", PLANTED_FACTORY, "--photos", str(photos), "--folder",
                               str(folder), "--port", str(port), "--steps", "4", "--size", "32", "--batch", "8",
                               "--workers", "0"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert "convscope explorer: http://127.0.0.1" in server.stderr.readline()
        import httpx2 as httpx

        for body in ({"kind": "layer", "layer": "conv3"}, {"kind": "render", "objective": "conv3:1", "steps": 4}):
            job = httpx.post(f"http://127.0.0.1:{port}/api/jobs", json=body).json()
            deadline = time.time() + 120
            while httpx.get(f"http://127.0.0.1:{port}/api/jobs/{job['id']}").json()["state"] != "done":
                assert time.time() < deadline
                time.sleep(0.2)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)
    exported = cli("serve", PLANTED_FACTORY, "--photos", str(photos), "--folder", str(folder), "--steps", "4", "--size", "32",
                   "--batch", "8", "--export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert (out / "atlas" / "index.html").is_file() and (out / "atlas" / "units" / "conv3" / "0004.html").is_file()
    index = (out / "index.html").read_text()
    assert str(out / "index.html") in exported.stdout and 'href="atlas/index.html"' in index
    render = next((folder / "renders").glob("render-*.png")).name
    assert f'src="renders/{render}"' in index and (out / "renders" / render).is_file()


def test_a_layer_shows_its_batch_as_it_renders_and_keeps_the_same_pixels(photos, tmp_path, monkeypatch):
    from convscope.app import workspace as workspace_module
    from convscope.app.worker import Job, Report

    monkeypatch.setattr(workspace_module, "PREVIEW_BATCH_SECONDS", 0.0)  # show every step's pictures
    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, **FAST)
    workspace = Workspace(spec.folder, planted_model(), str(photos), spec)
    seen: list[dict] = []

    class Watching(Report):
        def preview(self, url: str, value: float | None = None) -> None:
            super().preview(url, value)
            shown = workspace.previews("conv3")
            assert all((workspace.root / path).is_file() for path in shown.values())
            seen.append(shown)

    workspace.render_layer("conv3", Watching(Job("layer:conv3", "layer", "conv3", work=lambda _report: {})))
    assert seen and sorted(seen[0]) == [0, 1, 2, 3, 4] and len({s[0] for s in seen}) > 1  # a new picture each time
    assert workspace.previews("conv3") == {} and not (workspace.root / "previews" / "conv3").exists()
    plain = tmp_path / "plain"
    convscope.atlas(workspace.model, plain, photos=str(photos), workers=0, progress=False, render_layers=("conv3",),
                    **FAST)
    for path in sorted((plain / "units" / "conv3").glob("*.png")):
        assert (workspace.atlas_dir / "units" / "conv3" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_layer_shows_its_first_pictures_first_and_they_are_its_atlas_s_at_that_step(photos, tmp_path):
    from convscope.app.worker import Job, Report

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, thumbnail_steps=2, **FAST)
    workspace = Workspace(spec.folder, planted_model(), str(photos), spec)
    stages: list[str] = []
    firsts: dict[int, bytes] = {}

    class Watching(Report):
        def stage(self, name: str) -> None:
            super().stage(name)
            stages.append(name)
            if name.startswith("the atlas"):  # every unit has its first picture before the atlas starts
                firsts.update({u: (workspace.root / path).read_bytes()
                               for u, path in workspace.thumbnails("conv3").items()})

    result = workspace.render_layer("conv3", Watching(Job("layer:conv3", "layer", "conv3", work=lambda _report: {})))
    assert stages == ["first pictures, 2 steps", "the atlas, 4 steps", "the layer's photos",  # its measures read them
                      "the atlas, 4 steps"], stages
    assert result == {"layer": "conv3", "thumbnails": 5, "rendered": 5} and sorted(firsts) == [0, 1, 2, 3, 4]
    assert workspace.thumbnails("conv3") == {}  # the atlas holds every unit now
    short = tmp_path / "short"  # an atlas stopped at the first pictures' step holds the same thumbnails
    convscope.atlas(workspace.model, short, photos=str(photos), workers=0, progress=False, render_layers=("conv3",),
                    recipe=convscope.get_recipe("lucid", steps=2, size=32), batch=8)
    for unit, data in firsts.items():
        assert (short / "units" / "conv3" / f"{unit:04d}.thumb.png").read_bytes() == data, unit
    assert workspace.render_thumbnails("conv2", Watching(Job("x", "layer", "x", work=lambda _report: {})),
                                       lambda *_: None) == 5
    assert workspace.render_thumbnails("conv2", Watching(Job("x", "layer", "x", work=lambda _report: {})),
                                       lambda *_: None) == 0  # kept: a restart goes on from them
    for steps in (0, 4, 9):  # none, or not fewer steps than the atlas's
        other = convscope.api.ServeSpec.of(spec, folder=str(tmp_path / f"ws{steps}"), thumbnail_steps=steps)
        assert Workspace(other.folder, workspace.model, str(photos), other).thumbnail_recipe is None
    with pytest.raises(ConvscopeError, match="out of range"):
        convscope.api.unit_pictures(workspace.model, "conv3", [5], recipe=FAST["recipe"], progress=False)


def test_the_first_pictures_of_the_real_network_are_its_atlas_s_at_that_step(model, photo_folder, tmp_path):
    from convscope.app.worker import Job, Report

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, thumbnail_steps=2,
                                      recipe=convscope.get_recipe("lucid", steps=6, size=64))
    workspace = Workspace(spec.folder, model, str(photo_folder), spec)
    job = Job("layer:block2", "layer", "block2", work=lambda _report: {})
    assert workspace.render_thumbnails("block2", Report(job), lambda *_: None) == 24
    short = tmp_path / "short"
    convscope.atlas(model, short, photos=str(photo_folder), workers=0, progress=False, render_layers=("block2",),
                    recipe=convscope.get_recipe("lucid", steps=2, size=64))
    for unit, path in workspace.thumbnails("block2").items():
        assert (workspace.root / path).read_bytes() == (short / "units" / "block2" / f"{unit:04d}.thumb.png").read_bytes()


def test_a_unit_s_page_renders_only_its_batch_of_the_atlas(photos, tmp_path):
    from convscope.app.worker import Job, Report

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, **{**FAST, "batch": 2})
    workspace = Workspace(spec.folder, planted_model(), str(photos), spec)
    result = workspace.render_batch_of("conv2", 3, Report(Job("batch:conv2:3", "layer", "x", work=lambda _r: {})))
    assert result == {"layer": "conv2", "unit": 3, "rendered": 3} and workspace.rendered("conv2") == [2, 3, 4]


def test_a_long_job_gives_way_to_one_a_person_waits_for_then_goes_on_first():
    worker = Worker()
    parts: list[int] = []
    ran: list[str] = []
    reached, go_on = threading.Event(), threading.Event()

    def long(report) -> dict:
        for part in range(len(parts), 4):  # goes on from the parts done, as a layer from its files
            if part == 1:
                reached.set()
                go_on.wait(30)
            parts.append(part)
            report.give_way()
        ran.append("long")
        return {"parts": len(parts)}

    def watched(report) -> dict:
        report.give_way()  # a job does not give way to one of its own priority
        ran.append("watched")
        return {}

    job = worker.submit("long", "layer", "long", long)
    assert reached.wait(30)
    worker.submit("queued", "layer", "queued", lambda report: ran.append("queued") or {})
    worker.submit("watched", "render", "watched", watched, priority=WATCHED)
    worker.submit("watched too", "render", "watched too", watched, priority=WATCHED)
    go_on.set()
    deadline = time.time() + 30
    while len(ran) < 4 and time.time() < deadline:
        time.sleep(0.02)
    worker.stop()
    assert ran == ["watched", "watched", "long", "queued"] and parts == [0, 1, 2, 3], (ran, parts)
    assert job.state == "done"


def test_a_layer_that_gives_way_mid_batch_goes_on_to_the_same_pixels(photos, tmp_path):
    from convscope.app.worker import Deferred, Job, Report

    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, thumbnail_steps=2, **FAST)
    workspace = Workspace(spec.folder, planted_model(), str(photos), spec)
    calls = [0]

    def waiting() -> bool:  # a picture is asked for after the first pictures, then at the atlas's second step
        calls[0] += 1
        return calls[0] in (3, 5)

    job = Job("layer:conv3", "layer", "conv3", work=lambda _report: {})
    with pytest.raises(Deferred):
        workspace.render_layer("conv3", Report(job, waiting=waiting))
    assert len(workspace.thumbnails("conv3")) == 5 and workspace.rendered("conv3") == []
    with pytest.raises(Deferred):
        workspace.render_layer("conv3", Report(job, waiting=waiting))
    assert workspace.rendered("conv3") == [] and not (workspace.root / "previews" / "conv3").exists()
    assert workspace.render_layer("conv3", Report(job, waiting=waiting)) == {"layer": "conv3", "thumbnails": 0,
                                                                             "rendered": 5}
    plain = tmp_path / "plain"
    convscope.atlas(workspace.model, plain, photos=str(photos), workers=0, progress=False, render_layers=("conv3",),
                    **FAST)
    for path in sorted((plain / "units" / "conv3").glob("*.png")):
        assert (workspace.atlas_dir / "units" / "conv3" / path.name).read_bytes() == path.read_bytes(), path.name


def test_watching_a_render_changes_no_pixel():
    model = planted_model()
    seen = []
    plain = convscope.pictures(model, "conv3:1", progress=False, **FAST)
    watched = convscope.pictures(model, "conv3:1", progress=False,
                                 watch=lambda images, values: seen.append((images.clone(), values)), **FAST)
    assert len(seen) == 4 and seen[0][0].shape[-1] == 32 and seen[0][1].shape == (1,)
    values = torch.stack([v for _images, v in seen])  # the objective on each step's views, as the loop had it
    assert torch.allclose(values, watched.history.float().cpu(), atol=1e-5), (values, watched.history)
    assert (plain.pictures[0].pixels == watched.pictures[0].pixels).all()


def test_an_exemplars_pass_gives_way_between_shards_and_goes_on_from_them(tmp_path):
    from convscope.app.worker import Deferred, Job, Report

    many = write_colour_photos(tmp_path / "photos", 270)  # two shards (4 batches of 64 photos, then 14)
    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, **FAST)
    workspace = Workspace(spec.folder, planted_model(), str(many), spec)
    job = Job("exemplars:conv3", "exemplars", "conv3", work=lambda _report: {})
    reported: list[int] = []

    def waiting() -> bool:  # a page asks for something once the first shard is read
        reported.append(job.done)
        return job.done == 256 and reported.count(256) == 1

    with pytest.raises(Deferred):
        workspace.compute_exemplars("conv3", Report(job, waiting=waiting))
    assert reported == [0, 256] and not workspace.exemplars("conv3")
    assert workspace.compute_exemplars("conv3", Report(job, waiting=waiting)) == {"layer": "conv3", "photos": 270,
                                                                                 "skipped": 0}
    assert reported[2:] == [256, 270]  # it went on from the shard it had read
    plain = tmp_path / "plain"
    convscope.api.exemplars(workspace.model, many, plain, ["conv3"], workers=0)
    files = sorted(p.name for p in plain.iterdir())
    assert files == sorted(p.name for p in workspace.exemplars_folder("conv3").iterdir())
    for name in files:
        if name.endswith(".safetensors"):
            assert (workspace.exemplars_folder("conv3") / name).read_bytes() == (plain / name).read_bytes(), name


def test_concepts_give_way_while_they_read_the_photos_and_go_on_from_them(tmp_path):
    from convscope.app.worker import Deferred, Job, Report, Stopped
    from convscope.data.vector_shards import VectorDraw, collect_vectors
    from convscope.jobs.specs import ConceptsSpec

    many = write_colour_photos(tmp_path / "photos", 140)  # two shards of the collection (4 batches of 32, then 12)
    spec = convscope.api.ServeSpec.of(None, folder=str(tmp_path / "ws"), workers=0, concept_epochs=2, **FAST)
    workspace = Workspace(spec.folder, planted_model(), str(many), spec)
    job = Job("concepts:conv2", "concepts", "conv2", work=lambda _report: {})
    stopping = threading.Event()
    reported: list[int] = []

    def waiting() -> bool:  # asked once the first shard is read; the second run is stopped once the photos are
        reported.append(job.done)
        if job.done == 140:
            stopping.set()  # the next report (training) ends the work
        return job.done == 128 and reported.count(128) == 1

    with pytest.raises(Deferred):
        workspace.compute_concepts("conv2", Report(job, stopping, waiting))
    with pytest.raises(Stopped):
        workspace.compute_concepts("conv2", Report(job, stopping, waiting))
    assert reported == [0, 128, 128, 140]  # the second run went on from the shard the first had read
    defaults = ConceptsSpec()
    plain = tmp_path / "plain"
    collect_vectors(workspace.model, "conv2", many, plain, VectorDraw(defaults.samples, defaults.held_out, defaults.seed),
                    batch=defaults.photo_batch)
    kept = workspace.concepts_folder("conv2") / "vectors"
    assert sorted(p.name for p in plain.iterdir()) == sorted(p.name for p in kept.iterdir())
    for path in plain.glob("*.safetensors"):
        assert (kept / path.name).read_bytes() == path.read_bytes(), path.name

"""The explorer in a real browser (headless Chromium) against a running server: a layer's
first pictures and thumbnails arrive, a unit's page shows its photos, trust and circuit, an
objective's picture changes while it renders, a dropped photo is explained, two tabs share one
render of a layer and of a unit, a page beyond this machine needs the token, and a server
killed with SIGKILL loses nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import convscope
from helpers import ROOT, free_port
from trust_nets import COLOUR_NAMES, PLANTED_FACTORY, planted_model, write_colour_photos

WAIT = 120  # seconds a page may take on 2 busy cores


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    return write_colour_photos(tmp_path_factory.mktemp("photos"), 20)


@pytest.fixture(scope="module")
def explorer(photos, tmp_path_factory):
    running = convscope.serve(planted_model(labels=COLOUR_NAMES), photos, folder=str(tmp_path_factory.mktemp("ws") / "ws"),
                              port=free_port(), workers=0, recipe=convscope.get_recipe("lucid", steps=64, size=32),
                              batch=2, thumbnail_steps=16, concept_epochs=2)
    yield running
    running.stop()


def wait_for(condition, seconds: float = WAIT):
    """``condition()``'s first true value, polled until ``seconds`` pass."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the page did not get there in time")


def test_a_layer_fills_in_and_a_unit_shows_its_photos_trust_and_circuit(explorer, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(explorer.url + "layer/conv3")
    shown = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, ".grid span.todo img, .grid a img"))
    assert shown  # the batch's pictures as they render, or already their first pictures
    firsts = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, ".grid a.first img"))
    assert "16 of 64 steps" in firsts[0].get_attribute("title")  # the first pictures, while the atlas renders
    first = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, ".grid a.done img"))
    assert len(first) < 5 or "done" in chromium.find_element(By.ID, "line").text  # batches of 2 arrive in turn
    wait_for(lambda: len(chromium.find_elements(By.CSS_SELECTOR, ".grid a.done img")) == 5)
    wait_for(lambda: chromium.execute_script(
        "return [...document.querySelectorAll('.grid img')].every(i => i.complete && i.naturalWidth > 0)"))
    chromium.find_element(By.CSS_SELECTOR, "a#u2").click()
    wait_for(lambda: "conv3:2" in chromium.title)
    assert chromium.find_elements(By.CSS_SELECTOR, "img[alt^='top photo 1']")
    assert "can its picture be trusted?" in chromium.page_source
    assert len(wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "img[alt^='its map over']"))) == 8
    circuit = wait_for(lambda: chromium.find_element(By.ID, "circuit").text)
    assert "Built from: conv2:2" in circuit and "blue" in circuit, circuit
    chromium.find_element(By.LINK_TEXT, "conv2:2").click()
    wait_for(lambda: "conv2:2" in chromium.title)
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


def test_a_unit_of_a_layer_not_rendered_yet_renders_alone_first(explorer, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(explorer.url + "unit/conv1/3")
    caption = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "#live img + figcaption"))
    assert caption[0].text.startswith(("as it stands: activation", "rendered alone: activation")), caption[0].text
    wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "img[alt^='top photo 1']"))  # then its layer's batch
    assert explorer.worker.jobs["render:conv1:3:64"].state == "done"
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


def test_an_objective_renders_live_then_is_kept(explorer, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(explorer.url + "render")
    box = chromium.find_element(By.ID, "objective")
    box.clear()
    box.send_keys("conv3:1 - 0.5*conv3:2")
    steps = chromium.find_element(By.ID, "steps")
    steps.clear()
    steps.send_keys("2048")
    chromium.find_element(By.CSS_SELECTOR, "form button").click()
    caption = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "#result img[alt='as it stands'] + figcaption"))
    assert caption[0].text.startswith("as it stands: activation "), caption[0].text
    wait_for(lambda: "done" in chromium.find_element(By.ID, "line").text)
    shown = chromium.execute_script("return document.getElementById('result').dataset.previews").split()
    assert len(shown) >= 2, shown  # the picture changed while it rendered
    final = chromium.find_element(By.CSS_SELECTOR, "#result figcaption").text
    assert final.startswith("activation "), final
    chromium.get(explorer.url + "render")
    assert "conv3:1 - 0.5*conv3:2" in chromium.find_element(By.CSS_SELECTOR, ".kept").text
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


def test_a_dropped_photo_is_explained_and_a_bad_one_gets_a_line(explorer, chromium, photos, tmp_path):
    from selenium.webdriver.common.by import By

    chromium.get(explorer.url)
    chromium.find_element(By.ID, "file").send_keys(str(sorted(photos.iterdir())[0]))
    frame = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "#explained iframe"))
    assert "top class" in chromium.find_element(By.ID, "eline").text
    chromium.switch_to.frame(frame[0])
    assert wait_for(lambda: chromium.find_elements(By.TAG_NAME, "img"))
    chromium.switch_to.default_content()
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    chromium.get(explorer.url)
    chromium.find_element(By.ID, "file").send_keys(str(text))
    line = wait_for(lambda: chromium.find_element(By.ID, "eline").text if "cannot be read" in
                    chromium.find_element(By.ID, "eline").text else "")
    assert chromium.find_element(By.ID, "eline").get_attribute("class") == "error", line
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE" and "/api/photos" not in e["message"]]


def test_two_tabs_asking_for_one_layer_share_one_render(explorer, chromium):
    chromium.get(explorer.url + "layer/conv2")
    chromium.switch_to.new_window("tab")
    chromium.get(explorer.url + "layer/conv2")
    wait_for(lambda: explorer.worker.jobs["layer:conv2"].finished)
    assert [key for key in explorer.worker.jobs if key.startswith("layer:conv2")] == ["layer:conv2"]
    chromium.close()  # the tab that opened it second; the job went on regardless
    chromium.switch_to.window(chromium.window_handles[0])
    assert explorer.worker.jobs["layer:conv2"].state == "done"


def test_two_tabs_asking_for_one_unit_share_one_render(photos, tmp_path, chromium):
    from selenium.webdriver.common.by import By

    running = convscope.serve(planted_model(labels=COLOUR_NAMES), photos, folder=str(tmp_path / "ws"), port=free_port(),
                              workers=0, recipe=convscope.get_recipe("lucid", steps=64, size=32), batch=2)
    try:
        chromium.get(running.url + "unit/conv2/1")
        chromium.switch_to.new_window("tab")
        chromium.get(running.url + "unit/conv2/1")
        wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "img[alt^='top photo 1']"))
        assert [key for key in running.worker.jobs if key.startswith("render:")] == ["render:conv2:1:64"]
        assert [key for key in running.worker.jobs if key.startswith(("batch:", "layer:"))] == ["batch:conv2:1"]
        kept = [p.name for p in (tmp_path / "ws" / "renders").glob("render-*.png") if ".preview-" not in p.name]
        assert len(kept) == 1, kept  # rendered once, for both tabs
        chromium.close()
        chromium.switch_to.window(chromium.window_handles[0])
        assert running.worker.jobs["render:conv2:1:64"].state == "done"
    finally:
        running.stop()


def test_a_button_learns_a_layer_s_concepts_and_the_page_links_them(explorer, chromium):
    from selenium.webdriver.common.by import By

    chromium.get(explorer.url + "layer/conv2")
    chromium.find_element(By.CSS_SELECTOR, ".job-button button[data-kind='concepts']").click()
    link = wait_for(lambda: chromium.find_elements(By.CSS_SELECTOR, "a[href='/concepts/conv2/index.html']"))
    assert "concepts of conv2" in link[0].text and not chromium.find_elements(By.CSS_SELECTOR, ".job-button")
    assert not [e for e in chromium.get_log("browser") if e["level"] == "SEVERE"]


def test_beyond_this_machine_a_page_without_the_token_is_refused(photos, tmp_path, chromium):
    from selenium.webdriver.common.by import By

    running = convscope.serve(planted_model(), photos, folder=str(tmp_path / "ws"), host="0.0.0.0", port=free_port(),
                              workers=0, recipe=convscope.get_recipe("lucid", steps=4, size=32), batch=8)
    try:
        assert "?token=" in running.url
        base = running.url.split("?")[0].replace("0.0.0.0", "127.0.0.1")
        chromium.delete_all_cookies()
        chromium.get(base + "layer/conv3")
        assert "needs its token" in chromium.find_element(By.TAG_NAME, "body").text
        chromium.get(base + "?token=" + running.url.split("?token=")[1])
        assert "layers" in chromium.title  # let in; the address set a cookie for the rest
        chromium.get(base + "layer/conv3")
        wait_for(lambda: len(chromium.find_elements(By.CSS_SELECTOR, ".grid a.done img")) == 5)  # its requests too
    finally:
        running.stop()
        chromium.delete_all_cookies()


def test_a_path_outside_the_workspace_gets_404(explorer):
    import httpx2 as httpx

    for path in ("atlas/../../etc/passwd", "atlas/%2e%2e/%2e%2e/etc/passwd", "renders/..%2f..%2fsecret",
                 "explained/../photos/x"):
        assert httpx.get(explorer.url + path).status_code == 404, path


def test_a_server_killed_with_sigkill_loses_nothing(photos, tmp_path):
    import httpx2 as httpx

    folder, port = tmp_path / "ws", free_port()
    command = [sys.executable, "-m", "convscope", "serve", PLANTED_FACTORY, "--photos", str(photos), "--folder", str(folder),
               "--port", str(port), "--steps", "64", "--size", "32", "--batch", "1", "--workers", "0"]
    base = f"http://127.0.0.1:{port}"

    def started() -> subprocess.Popen:
        server = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert "convscope explorer" in server.stderr.readline()
        return server

    server = started()
    try:
        httpx.post(f"{base}/api/jobs", json={"kind": "layer", "layer": "conv3"})
        wait_for(lambda: len(httpx.get(f"{base}/api/layers/conv3/units").json()["rendered"]) >= 2)
    finally:
        os.kill(server.pid, signal.SIGKILL)
        server.wait()
    kept = sorted((folder / "atlas" / "units" / "conv3").glob("*.json"))
    assert kept and all(json.loads(p.read_text())["channel"] == int(p.stem) for p in kept)  # whole files only
    server = started()
    try:
        assert httpx.get(f"{base}/api/layers/conv3/units").json()["rendered"] == [int(p.stem) for p in kept]
        job = httpx.post(f"{base}/api/jobs", json={"kind": "layer", "layer": "conv3"}).json()
        wait_for(lambda: httpx.get(f"{base}/api/jobs/{job['id']}").json()["state"] == "done")
        assert httpx.get(f"{base}/api/layers/conv3/units").json()["rendered"] == [0, 1, 2, 3, 4]
    finally:
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0


def test_ctrl_c_stops_at_once_while_a_page_follows_a_long_job(photos, tmp_path):
    import threading

    import httpx2 as httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "convscope", "serve", PLANTED_FACTORY, "--photos", str(photos),
                               "--folder", str(tmp_path / "ws"), "--port", str(port), "--size", "32", "--workers", "0"],
                              cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert "convscope explorer" in server.stderr.readline()
        base = f"http://127.0.0.1:{port}"
        job = httpx.post(f"{base}/api/jobs", json={"kind": "render", "objective": "conv3:1", "steps": 4096}).json()
        followed = threading.Event()

        def follow() -> None:  # a page's progress events, open while the job runs
            try:
                with httpx.stream("GET", f"{base}/api/jobs/{job['id']}/events", timeout=None) as events:
                    for _line in events.iter_lines():
                        followed.set()
            except httpx.HTTPError:
                pass

        threading.Thread(target=follow, daemon=True).start()
        assert followed.wait(30)
        assert httpx.get(f"{base}/api/jobs/{job['id']}").json()["state"] == "running"
        start = time.time()
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 0 and time.time() - start < 10
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGKILL)

"""``python -m benchmarks [--quick] [--json]``: every comparison side by side, into BENCHMARKS.md."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import convscope

from .atlas_circuits import atlas_circuits_markdown
from .circuits_real import circuits_markdown
from .concept_sizes import sizes_markdown
from .explorer_speed import explorer_speed_markdown
from .gpu_report import gpu_markdown, profile_markdown
from .halving_side import halving_markdown
from .harness import machine, merged
from .labels_real import labels_markdown
from .layer_measures import layer_measures_markdown
from .modern_report import modern_markdown
from .ray_photos import ray_photos_markdown
from .readings import readings, with_readings
from .speed import article_vs_grid, article_vs_selected_grid, atlas_memory, atlas_unit_steps, dream_big_photo, random_vgg16
from .trust_validity import trust_validity_markdown

ROOT = Path(__file__).resolve().parent.parent
LUCENT_PYTHON = os.environ.get("LUCENT_PYTHON", str(ROOT / ".venv-bench" / "bin" / "python"))
EXTRAS_PYTHON = os.environ.get("EXTRAS_PYTHON", str(ROOT / ".venv-extras" / "bin" / "python"))
ALL_LAYERS = ["stem"] + [f"block{i}" for i in range(16)] + ["head", "logits"]


@dataclass(frozen=True)
class Lab:
    """What every section is given.

    Attributes:
        quick: fewer filters, steps and runs.
        previous: the results so far (the JSON beside ``--out``); a section may keep some of them.
    """

    quick: bool
    previous: dict


def lucent_rows(layers: str, units: int, steps: int, runs: int) -> list[dict] | str:
    if not Path(LUCENT_PYTHON).exists():
        return f"not run: no Lucent environment at {LUCENT_PYTHON} (make bench-env)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "benchmarks" / "lucent_stubs"),
                                                         str(ROOT / "src"), str(ROOT)])}
    rows = []
    for mode in ([], ["alone"]):
        out = subprocess.run([LUCENT_PYTHON, "-m", "benchmarks.lucent_side", *mode, layers, str(units), str(steps),
                              str(runs)], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    for row in rows[0]:
        row["lucent_alone"] = rows[1][row["layer"]]
    return rows[0]


def networks_section(lab: Lab) -> dict:
    """timm's ViT beside efficientnet-lite0, run in .venv-extras (timm needs torchvision)."""
    if not Path(EXTRAS_PYTHON).exists():
        return {"networks": f"not run: no extras environment at {EXTRAS_PYTHON} (make extras)"}
    args = ["8", "4" if lab.quick else "16", "1" if lab.quick else "2"]
    out = subprocess.run([EXTRAS_PYTHON, "-m", "benchmarks.networks_side", *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
                         cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def maco_settings_section(lab: Lab) -> dict:
    from .maco_settings import main as maco_settings

    return {"maco_settings": maco_settings(2 if lab.quick else 4, 64 if lab.quick else 256, None)}


def modern_section(lab: Lab) -> dict:
    """DreamLens's maximize and maco beside convscope's lucid and maco, run in the bench environment."""
    if not Path(LUCENT_PYTHON).exists():
        return {"modern": f"not run: no bench environment at {LUCENT_PYTHON} (make bench-env)"}
    args = ["2" if lab.quick else "8", "32" if lab.quick else "256", str(ROOT / "sheets"), "16" if lab.quick else "64", "3"]
    out = subprocess.run([LUCENT_PYTHON, "-m", "benchmarks.modern_side", *args], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])},
                         cwd=ROOT, check=True)
    return {"modern": json.loads(out.stdout.strip().splitlines()[-1])}


def exemplars_section(lab: Lab) -> dict:
    from .exemplars_speed import main as exemplars_speed

    return {"exemplars": exemplars_speed(100 if lab.quick else 1000, 400 if lab.quick else 10000, 20 if lab.quick else 200)}


def compile_section(lab: Lab) -> dict:
    """Compiled against eager render steps, in a fresh process with an empty inductor cache."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-m", "benchmarks.compile_side", *(["quick"] if lab.quick else [])],
                             capture_output=True, text=True, cwd=ROOT, check=True,
                             env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache,
                                  "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])})
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    return {"compile": measured["rows"], "compile_relu6": measured["relu6"]}


def process_section(lab: Lab) -> dict:
    from .whole_process import main as whole_process

    return {"process": whole_process(lab.quick)}


def cpu_step_section(lab: Lab) -> dict:
    from .cpu_step import main as cpu_step

    return {"cpu_step": cpu_step(lab.quick)}


def article_section(lab: Lab) -> dict:
    lite0 = convscope.load()
    rows = [article_vs_grid(lite0, layer, 8 if lab.quick else 16, 3) for layer in ("block2", "block8", "head")]
    vgg = random_vgg16()
    rows += [article_vs_grid(vgg, layer, 2 if lab.quick else 4, 3, "vgg16-random") for layer in ("conv1_2", "conv3_3", "conv5_1")]
    quick = lab.quick
    selected = [article_vs_selected_grid(lite0, "block8", 28 if quick else 112, 16 if quick else 64, 1 if quick else 3)]
    return {"article": rows, "article_selected": selected}


def atlas_section(lab: Lab) -> dict:
    unit_steps = atlas_unit_steps(ALL_LAYERS, 4 if lab.quick else 8, 32)
    full_s = sum(r["channels"] * 512 * r["s_per_unit_step"] for r in unit_steps)
    memory = [atlas_memory("stem,block1", 2), atlas_memory("stem,block0,block1,block2,block3,block4", 2)]
    return {"atlas_unit_steps": unit_steps, "atlas_full_lucid_estimate_s": full_s, "atlas_memory": memory}


def profile_section(lab: Lab) -> dict:
    from .profile_step import profile_step

    lite0 = convscope.load()
    steps = 2 if lab.quick else 4
    return {"profile": [profile_step(lite0, "block8", 16, 128, steps), profile_step(lite0, "head", 16, 128, steps),
                        profile_step(random_vgg16(), "conv5_1", 4, 128, steps)]}


def ray_section(lab: Lab) -> dict:
    from .ray_side import ray_nodes

    return {"ray": ray_nodes()}


def commit_section(lab: Lab) -> dict:
    """This tree against another checkout (``CONVSCOPE_OTHER_SRC``: its ``src``), side by side."""
    other = os.environ.get("CONVSCOPE_OTHER_SRC")
    if not other:
        return {"commit": "not run: set CONVSCOPE_OTHER_SRC to the src folder of another checkout "
                          "(git worktree add /tmp/old REV)"}
    out = subprocess.run([sys.executable, "-m", "benchmarks.commit_side", other, *(["--quick"] if lab.quick else [])],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    revision = subprocess.run(["git", "-C", other, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    return {"commit": result["rows"], "commit_other": revision.stdout.strip() or other}


def layer_measures_section(lab: Lab) -> dict:
    """Section 26: over ``LAYER_PHOTOS`` (real photos), this tree against ``CONVSCOPE_OTHER_SRC``."""
    from .layer_measures import main as layer_measures_main

    photos, other = os.environ.get("LAYER_PHOTOS"), os.environ.get("CONVSCOPE_OTHER_SRC")
    if not photos or not other:
        return {"layer_measures": "not run: set LAYER_PHOTOS to a folder of real photos and CONVSCOPE_OTHER_SRC to "
                                  "the src folder of another checkout (git worktree add /tmp/old REV)"}
    return {"layer_measures": layer_measures_main(Path(photos), Path(other), 100 if lab.quick else 500,
                                                  1 if lab.quick else 2)}


def concepts_section(lab: Lab) -> dict:
    from .concepts_side import main as concepts_main

    return {"concepts": concepts_main(lab.quick)}


def trust_section(lab: Lab) -> dict:
    """Section 17, over the distinct photos of scikit-image and scikit-learn and, when
    ``TRUST_WALLPAPERS`` names an unpacked plasma-workspace-wallpapers package, its wallpapers."""
    import tempfile

    from .trust_recipes import main as trust_main

    wallpapers = os.environ.get("TRUST_WALLPAPERS")
    with tempfile.TemporaryDirectory() as folder:
        return trust_main(Path(folder), Path(wallpapers) if wallpapers else None, lab.quick)


def not_run_without(variable: str) -> str:
    """What a section that needs real photos says when ``variable`` names no folder."""
    return (f"not run: set {variable} to a folder of real photos (such as the 1,000 of the public repository "
            "EliSchwartz/imagenet-sample-images)")


def concept_sizes_section(lab: Lab) -> dict:
    """Section 20, over the photo folder ``CONCEPT_PHOTOS`` names (real photos: the measures mean
    little on the sample photos' crops). ``CONCEPT_ROWS`` (such as ``nmf:1024``, comma-separated)
    reruns only those dictionaries and keeps the other rows of the results file."""
    import tempfile

    from .concept_sizes import main as sizes_main

    photos = os.environ.get("CONCEPT_PHOTOS")
    if not photos:
        return {"concept_sizes": not_run_without("CONCEPT_PHOTOS")}
    keys = [k.split(":") for k in os.environ.get("CONCEPT_ROWS", "").split(",") if k]
    sizes, methods = ([32, 64], ["nmf"]) if lab.quick else ([32, 64, 256, 1024], ["nmf", "sae"])
    with tempfile.TemporaryDirectory() as folder:
        if not keys:
            return {"concept_sizes": sizes_main(Path(photos), Path(folder), sizes, methods, 4 if lab.quick else 8)}
        runs = [sizes_main(Path(photos), Path(folder), [int(size)], [method], 8) for method, size in keys]
    previous = lab.previous.get("concept_sizes")
    result = dict(previous) if isinstance(previous, dict) else dict(runs[0])
    rows = merged(result.get("rows", []), [row for run in runs for row in run["rows"]],
                  lambda row: f"{row['method']}:{row['concepts']}")
    result["rows"] = sorted(rows, key=lambda row: (row["method"], row["concepts"]))
    return {"concept_sizes": result}


def circuits_section(lab: Lab) -> dict:
    """Section 21, over the photo folder ``CIRCUIT_PHOTOS`` names (real photos, such as the 1,000 ImageNet ones)."""
    import tempfile

    from .circuits_real import main as circuits_main

    photos = os.environ.get("CIRCUIT_PHOTOS")
    if not photos:
        return {"circuits": not_run_without("CIRCUIT_PHOTOS")}
    with tempfile.TemporaryDirectory() as folder:
        result = circuits_main(Path(photos), Path(folder), 2 if lab.quick else 8)
        (ROOT / "sheets" / "circuits-three.jpg").write_bytes((Path(folder) / "circuits-sheet.jpg").read_bytes())
    return {"circuits": result}


def atlas_circuits_section(lab: Lab) -> dict:
    """Section 22, over the photo folder ``CIRCUIT_PHOTOS`` names."""
    from .atlas_circuits import main as atlas_circuits_main

    photos = os.environ.get("CIRCUIT_PHOTOS")
    if not photos:
        return {"atlas_circuits": not_run_without("CIRCUIT_PHOTOS")}
    return {"atlas_circuits": atlas_circuits_main(Path(photos), "block3" if lab.quick else "block8")}


def sheet_section(variable: str, key: str, module: str, sheets: dict[str, str]) -> Callable[[Lab], dict]:
    """A section over the photo folder ``variable`` names (real photos, such as the 1,000 ImageNet
    ones), run by ``benchmarks.<module>.main(photos, out, quick)``, whose contact sheets
    ``out/NAME`` are kept as ``sheets/sheets[NAME]``."""
    def section(lab: Lab) -> dict:
        import importlib
        import tempfile

        photos = os.environ.get(variable)
        if not photos:
            return {key: not_run_without(variable)}
        run = importlib.import_module(f".{module}", __package__).main
        with tempfile.TemporaryDirectory() as folder:
            result = run(Path(photos), Path(folder), lab.quick)
            for sheet, kept_as in sheets.items():
                (ROOT / "sheets" / kept_as).write_bytes((Path(folder) / sheet).read_bytes())
        return result
    return section


def ray_photos_section(lab: Lab) -> dict:
    from .ray_photos import main as ray_photos_main

    return {"ray_photos": ray_photos_main(400 if lab.quick else 2000)}


def halving_section(lab: Lab) -> dict:
    """Section 18; ``HALVING_ROWS`` (row keys such as ``vgg16:conv3_1:lucid:512``, comma-separated)
    reruns only those rows and keeps the others of the results file (``--out``'s JSON), each with
    the machine that ran it."""
    from .halving_side import key_of
    from .halving_side import main as halving_main

    keys = [k for k in os.environ.get("HALVING_ROWS", "").split(",") if k]
    rows = halving_main(lab.quick, keys)
    if not keys:
        return {"halving": rows}
    return {"halving": merged(lab.previous.get("halving", []), rows, key_of)}


SECTIONS = {
    "article": ("the article's loop against grid --recipe keras2016", article_section),
    "lucent": ("Lucent against the lucid recipe",
               lambda lab: {"lucent": lucent_rows("block3,block8,head", 8, 16 if lab.quick else 32, 3)}),
    "dream": ("DeepDream on a big photo",
              lambda lab: {"dream": [dream_big_photo(451, 300, 1, 4), dream_big_photo(4000, 3000, 1, 4)]}),
    "atlas": ("the atlas", atlas_section),
    "ray": ("the atlas on Ray", ray_section),
    "profile": ("where a render step's time goes", profile_section),
    "networks": ("a timm ViT beside efficientnet-lite0", networks_section),
    "maco_settings": ("the maco recipe's settings, one at a time", maco_settings_section),
    "modern": ("DreamLens beside the lucid and maco recipes", modern_section),
    "exemplars": ("dataset examples in one streaming pass", exemplars_section),
    "compile": ("compiled render steps beside eager ones", compile_section),
    "process": ("the article's script and grid as whole processes", process_section),
    "cpu_step": ("the CPU changes of the render step, each against what it replaced", cpu_step_section),
    "commit": ("this tree against another checkout of convscope", commit_section),
    "concepts": ("concepts: the collection pass, training at scale, and overcomplete", concepts_section),
    "trust": ("which recipe's pictures show what the units do, at which depth", trust_section),
    "halving": ("grids with successive halving beside full runs", halving_section),
    "ray_photos": ("photo passes in one process and on two Ray nodes", ray_photos_section),
    "concept_sizes": ("concept dictionaries by size, on real photos", concept_sizes_section),
    "circuits": ("circuits on real photos", circuits_section),
    "atlas_circuits": ("the atlas with and without the units' circuits", atlas_circuits_section),
    "trust_validity": ("trust per unit: controls and verdicts on real photos",
                       sheet_section("TRUST_PHOTOS", "trust_validity", "trust_validity",
                                     {"trust-verdicts.jpg": "trust-verdicts.jpg"})),
    "labels": ("labels on real photos",
               sheet_section("LABEL_PHOTOS", "labels", "labels_real", {"labels-sheet.jpg": "labels-twelve.jpg"})),
    "layer_measures": ("a layer's measures in one read of the photos, against another checkout",
                       layer_measures_section),
    "explorer_speed": ("the explorer in a real browser",
                       sheet_section("EXPLORER_PHOTOS", "explorer_speed", "explorer_speed",
                                     {"explorer-pages.jpg": "explorer-pages.jpg",
                                      "explorer-first-pictures.jpg": "explorer-first-pictures.jpg"})),
}


def run(lab: Lab, only: list[str]) -> dict:
    """Runs the chosen sections; the others keep their previous results."""
    results = dict(lab.previous)
    for i, name in enumerate(only, start=1):
        title, section = SECTIONS[name]
        print(f"{i}/{len(only)} {title}", file=sys.stderr)
        results.update(section(lab))
        results.setdefault("machines", {})[name] = machine()
    return results


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(title for title, _key, _fmt in columns) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(format(r[key], fmt) if fmt else str(r[key]) for _t, key, fmt in columns) + " |"
            for r in rows]
    return "\n".join([head, rule, *body])


def lucent_alone_markdown(rows: list[dict]) -> list[str]:
    """Section 2's timing protocol and Lucent in a process of its own (rows of runs that measured it)."""
    rows = [r for r in rows if "lucent_alone" in r]
    if not rows:
        return []
    return [f"Each call ran once untimed, then {rows[0]['runs']} alternated timed rounds: the figures above are "
            "medians. convscope's renders switch on its kept-freed-memory setting for the whole process, Lucent's "
            "calls included; as Lucent's users run it, in a process of its own where convscope only loads the "
            "network, with the ranges of the rounds:", "",
            "| layer | Lucent unit-steps/s, shared process | Lucent unit-steps/s, own process | "
            "convscope unit-steps/s | speed-up over the own process |",
            "| --- | --- | --- | --- | --- |",
            *[f"| {r['layer']} | {r['lucent_unit_steps_per_s']:.1f} [{r['lucent_range'][0]:.1f}-{r['lucent_range'][1]:.1f}] "
              f"| {r['lucent_alone']['median']:.1f} [{r['lucent_alone']['range'][0]:.1f}-"
              f"{r['lucent_alone']['range'][1]:.1f}] | {r['convscope_unit_steps_per_s']:.1f} "
              f"[{r['convscope_range'][0]:.1f}-{r['convscope_range'][1]:.1f}] | "
              f"{r['convscope_unit_steps_per_s'] / r['lucent_alone']['median']:.1f} |" for r in rows], ""]


def article_alone_markdown(rows: list[dict]) -> list[str]:
    """Section 1's timing protocol and the article's loop in a process of its own (rows of runs
    that measured it)."""
    rows = [r for r in rows if "article_alone_s_per_filter" in r]
    if not rows:
        return []
    return [f"Each call ran once untimed, then {rows[0]['runs']} alternated timed rounds: the figures above are "
            "medians. In this shared process convscope's first render switches on its kept-freed-memory setting "
            "(`convscope.runtime.heap`, a setting of the whole process), so the article's loop runs with it too. "
            "As a user of the article's script runs it, in a process of its own (`benchmarks/article_alone.py`: "
            "one untimed filter, then the same rounds), with the ranges of the rounds:", "",
            "| model | layer | article s/filter, shared process | article s/filter, own process | "
            "convscope s/filter | speed-up over the own process |",
            "| --- | --- | --- | --- | --- | --- |",
            *[f"| {r['model']} | {r['layer']} | {r['article_s_per_filter']:.3f} [{r['article_range'][0]:.3f}-"
              f"{r['article_range'][1]:.3f}] | {r['article_alone_s_per_filter']:.3f} [{r['article_alone_range'][0]:.3f}-"
              f"{r['article_alone_range'][1]:.3f}] | {r['convscope_s_per_filter']:.3f} [{r['convscope_range'][0]:.3f}-"
              f"{r['convscope_range'][1]:.3f}] | {r['speedup_alone']:.2f} |" for r in rows], ""]


def markdown(res: dict) -> str:
    machines = sorted(set(res["machines"].values()))
    parts = ["# Benchmarks", "", "Machines (each section names the one that ran it): " + "; ".join(machines) + ".", "",
             "Produced by `make bench` (`python -m benchmarks`; `--only article,ray` reruns some sections, "
             "the raw numbers are in BENCHMARKS.json). Each comparison runs both sides in one process, "
             "alternating A, B, A, B after one untimed warm-up of each; times are medians; ratios are what to "
             "read, since the machine is noisy. Sections 1-6 and 8-24 are CPU runs; section 7 is the GPU. What a "
             "section's numbers mean is written by hand after looking at them, as its reading at its end; a rerun "
             "keeps the reading and marks it for checking (`benchmarks/readings.py`).", "",
             "## 1. The article's loop against `grid --recipe keras2016`", "",
             "The article's procedure per filter (128 px gray noise, 20 normalized steps), written plainly in "
             "`benchmarks/article_loop.py`: one filter at a time, each step a forward pass through the whole "
             "network. convscope: `convscope.grid(..., recipe='keras2016')` over the same filters and seeds in one "
             "batch (photo statistics included), in float32, in float32 with `--compile on` (its first run, "
             "which compiles, is the untimed warm-up) and with `--precision bfloat16` (autocast; "
             + ("this CPU has AMX, whose tile units run bfloat16 matrix products" if "with AMX" in
                res["machines"].get("article", "") else "this CPU has no AMX")
             + "). VGG16 has random weights (timing needs none).", "",
             table(res["article"], [("model", "model", ""), ("layer", "layer", ""), ("filters", "filters", ""),
                                    ("article s/filter", "article_s_per_filter", ".3f"),
                                    ("convscope s/filter", "convscope_s_per_filter", ".3f"),
                                    ("speed-up", "speedup", ".1f"),
                                    ("compiled s/filter", "compiled_s_per_filter", ".3f"),
                                    ("compiled speed-up", "compiled_speedup", ".1f"),
                                    ("bfloat16 s/filter", "bf16_s_per_filter", ".3f"),
                                    ("bfloat16 speed-up", "bf16_speedup", ".1f"),
                                    ("article mean act.", "article_mean_activation", ".3f"),
                                    ("convscope mean act.", "convscope_mean_activation", ".3f"),
                                    ("compiled mean act.", "compiled_mean_activation", ".3f"),
                                    ("bfloat16 mean act.", "bf16_mean_activation", ".3f")]), ""]
    parts += article_alone_markdown(res["article"])
    if "article_selected" in res:
        parts += ["The best of many filters, as the article keeps its best 64 of a layer: the article's loop over every "
                  "filter against `grid --candidates N --top 64` rendering all of them (`--select full`) and dropping "
                  "those far behind early (`--select halving`, section 18), in this process, alternated after one "
                  "untimed run of each (times: medians of the rounds, whole jobs, photo statistics included). "
                  "Activations: the medians of each side's best 64.", "",
                  table(res["article_selected"], [
                      ("model", "model", ""), ("layer", "layer", ""), ("filters", "filters", ""), ("top", "top", ""),
                      ("article s", "article_s", ".1f"), ("full s", "full_s", ".1f"), ("halving s", "halving_s", ".1f"),
                      ("full speed-up", "full_speedup", ".2f"), ("halving speed-up", "halving_speedup", ".2f"),
                      ("article median act.", "article_median_activation", ".2f"),
                      ("full median act.", "full_median_activation", ".2f"),
                      ("halving median act.", "halving_median_activation", ".2f")]), ""]
    parts += ["## 2. torch-lucent's `render_vis` against the `lucid` recipe", ""]
    if isinstance(res["lucent"], str):
        parts += [res["lucent"], ""]
    else:
        parts += ["Same network (efficientnet-lite0, its preprocessing inside the module handed to Lucent), "
                  "128 px, spectral + decorrelated + sigmoid image, Lucid's standard transforms, Adam 0.05; "
                  "Lucent renders one unit per call, convscope the units of a layer in one batch, eager and with "
                  "`--compile on` (each side runs once untimed first; the compiled one compiles there). Ratio: a "
                  "picture's activation over the unit's best on the built-in photos (median over units).", "",
                  table(res["lucent"], [("layer", "layer", ""), ("units", "units", ""), ("steps", "steps", ""),
                                        ("Lucent unit-steps/s", "lucent_unit_steps_per_s", ".1f"),
                                        ("convscope unit-steps/s", "convscope_unit_steps_per_s", ".1f"),
                                        ("speed-up", "speedup", ".1f"),
                                        ("compiled unit-steps/s", "compiled_unit_steps_per_s", ".1f"),
                                        ("compiled speed-up", "compiled_speedup", ".1f"),
                                        ("Lucent ratio", "lucent_median_ratio", ".2f"),
                                        ("convscope ratio", "convscope_median_ratio", ".2f"),
                                        ("compiled ratio", "compiled_median_ratio", ".2f")]), ""]
        parts += lucent_alone_markdown(res["lucent"])
    parts += ["## 3. DeepDream on a big photo", "",
              "Default layers (block8, block10), 4 octaves of scale 1.4, 512 px tiles; one step per octave "
              "here (the default is 10: multiply the time by about 10). Peak memory is the whole process's "
              "maximum resident size.", "",
              table(res["dream"], [("photo", "photo", ""), ("steps/octave", "steps_per_octave", ""),
                                   ("seconds", "seconds", ".1f"), ("peak RSS MiB", "peak_rss_mib", ".0f")]), ""]
    parts += ["## 4. The atlas of efficientnet-lite0", "",
              "Seconds per unit-step of the lucid recipe at 128 px, one batch of 32 units per layer:", "",
              table(res["atlas_unit_steps"], [("layer", "layer", ""), ("channels", "channels", ""),
                                              ("s per unit-step", "s_per_unit_step", ".4f")]), "",
              f"A full atlas (every layer, {sum(r['channels'] for r in res['atlas_unit_steps'])} units, 512 steps) "
              f"would take about {res['atlas_full_lucid_estimate_s'] / 3600:.1f} hours on this machine.", "",
              "Peak memory does not grow with the number of units (2 steps per unit):", "",
              table(res["atlas_memory"], [("layers", "layers", ""), ("units", "units", ""),
                                          ("seconds", "seconds", ".0f"), ("peak RSS MiB", "peak_rss_mib", ".0f")]),
              ""]
    if "ray" in res:
        r = res["ray"]
        parts += ["## 5. The atlas on Ray", "",
                  f"The same small atlas ({r['units']} units in {r['tasks']} batch tasks; `{r['settings']}`) in "
                  "one process, and through `--ray` on a head node started on loopback with 1 CPU, then with a "
                  "second 1-CPU worker node added (both on this 2-core machine).", "",
                  "| run | seconds | units/min |", "| --- | --- | --- |",
                  f"| one process | {r['local_s']:.1f} | {r['local_units_per_min']:.0f} |",
                  f"| Ray, one node | {r['one_node_s']:.1f} | {r['one_node_units_per_min']:.0f} |",
                  f"| Ray, two nodes | {r['two_nodes_s']:.1f} | {r['two_nodes_units_per_min']:.0f} |", "",
                  f"Overhead per task (one node against one process, per batch): {r['overhead_per_task_s']:.2f} s; "
                  "it includes connecting to the cluster and sending the network once.", ""]
    if "profile" in res:
        parts += ["## 6. Where a step's time goes", "",
                  "torch.profiler over one render (lucid recipe, 128 px, a few steps; its set-up and final "
                  "pictures included), operators by self time:", ""]
        parts += profile_markdown(res["profile"], table)
    parts += gpu_markdown(res.get("gpu"), table)
    if "networks" in res:
        parts += ["## 8. A Vision Transformer beside efficientnet-lite0", ""]
        if isinstance(res["networks"], str):
            parts += [res["networks"], ""]
        else:
            g = res["vit_grid"]
            parts += [f"Machine: {res['networks_machine']} (the extras environment's torch, which timm needs). "
                      "The lucid recipe at 224 px, 8 units of a middle layer in one batch, both models in one "
                      "process, alternating; timm's vit_small_patch16_224 (12 blocks, 384 features, random "
                      "weights: timing needs no trained ones) and efficientnet-lite0 with its real weights.", "",
                      table(res["networks"], [("model", "model", ""), ("layer", "layer", ""), ("units", "units", ""),
                                              ("steps", "steps", ""),
                                              ("unit-steps/s", "unit_steps_per_s", ".2f")]), "",
                      f"A 64-unit grid of the ViT's {g['layer']} in one batched run ({g['steps']} steps at 224 px): "
                      f"{g['seconds']:.0f} s, {g['s_per_unit_step']:.3f} s per unit-step; {g['tiles']} tiles kept. "
                      f"At 512 steps that grid would take about {g['s_per_unit_step'] * 64 * 512 / 60:.0f} minutes "
                      "on this machine.", ""]
    parts += modern_markdown(res, table)
    if "process" in res:
        parts += ["## 13. The article's script and `grid` as whole processes", "",
                  "What a user times: `python -m benchmarks.article_script MODEL LAYER N` (the article's loop of "
                  "section 1 as a plain script: one filter at a time, the whole network every step) against "
                  "`convscope grid MODEL LAYER --recipe keras2016 --candidates N --top T --select S -o grid.png "
                  "--json`, each a fresh process (start-up, model load, photo statistics and files included), "
                  "alternated after one untimed run of each; times are medians. Where top is below the filters, "
                  "the activations compared are the medians of each side's best top filters (the article keeps "
                  "its best 64 too), and `--select halving` drops the filters far behind early (section 18). "
                  "Each process has its own allocator settings: the script glibc's "
                  "defaults, convscope its own (`convscope.runtime.heap`). System seconds: the kernel's share of the "
                  "process's CPU time (page faults among it). VGG16 has random weights.", "",
                  table([{"top": r["filters"], "select": "full", **r} for r in res["process"]],
                        [("model", "model", ""), ("layer", "layer", ""), ("filters", "filters", ""),
                                         ("top", "top", ""), ("select", "select", ""),
                                         ("article s", "article_s", ".1f"), ("convscope s", "convscope_s", ".1f"),
                                         ("speed-up", "speedup", ".2f"), ("article system s", "article_sys_s", ".1f"),
                                         ("convscope system s", "convscope_sys_s", ".1f"),
                                         ("article median act.", "article_median_activation", ".4g"),
                                         ("convscope median act.", "convscope_median_activation", ".4g")]), ""]
    if "cpu_step" in res:
        parts += ["## 14. The CPU changes of the render step, each against what it replaced", "",
                  "`benchmarks/cpu_step.py`. Freed memory kept: the same render in fresh processes, alternated, "
                  "with `convscope.runtime.heap` switched off and on (a whole process's setting). The padding, the "
                  "crops and the lucid transforms: the render with the replaced code swapped back in, alternated "
                  "in one process; the "
                  "replaced code is kept in the benchmark as the reference. Times are one render each.", "",
                  table(res["cpu_step"], [("change", "change", ""), ("render", "what", ""),
                                          ("before s", "before_s", ".2f"), ("now s", "now_s", ".2f"),
                                          ("speed-up", "speedup", ".2f"), ("pixels", "pixels", "")]), ""]
    if "commit" in res:
        parts += ["## 15. This tree against an earlier commit", ""]
        if isinstance(res["commit"], str):
            parts += [res["commit"], ""]
        else:
            parts += ["`benchmarks/commit_side.py`: the convscope sides of sections 1 (keras2016 grids) and 10 "
                      "(lucid and maco renders of a layer's units) in fresh processes that alternate this tree and "
                      f"another checkout ({res['commit_other']}), after one untimed render in each process; times are "
                      "medians, the ratio is this tree's time over the other's (below 1: faster now).", "",
                      table(res["commit"], [("recipe", "recipe", ""), ("layer", "layer", ""), ("units", "units", ""),
                                            ("steps", "steps", ""), ("this s", "this_s", ".2f"),
                                            ("other s", "other_s", ".2f"), ("ratio", "ratio", ".3f"),
                                            ("same activations", "activations_equal", "")]), ""]
    if "concepts" in res:
        parts += concepts_markdown(res["concepts"])
    if "trust_recipes" in res:
        parts += trust_markdown(res)
    if "halving" in res:
        parts += halving_markdown(res["halving"], res["machines"]["halving"]) + [""]
    if "ray_photos" in res:
        parts += ray_photos_markdown(res["ray_photos"], res["machines"]["ray_photos"])
    if "concept_sizes" in res:
        parts += sizes_markdown(res["concept_sizes"])
    if "circuits" in res:
        parts += circuits_markdown(res["circuits"])
    if "atlas_circuits" in res:
        parts += atlas_circuits_markdown(res["atlas_circuits"])
    if "trust_validity" in res:
        parts += trust_validity_markdown(res if isinstance(res["trust_validity"], list) else res["trust_validity"])
    if "labels" in res:
        parts += labels_markdown(res if isinstance(res["labels"], list) else res["labels"])
    if "explorer_speed" in res:
        parts += explorer_speed_markdown(res["explorer_speed"])
    if "layer_measures" in res:
        parts += layer_measures_markdown(res["layer_measures"])
    return "\n".join(with_machines(parts, res["machines"]))


SECTION_KEYS = {1: "article", 2: "lucent", 3: "dream", 4: "atlas", 5: "ray", 6: "profile", 8: "networks",
                9: "maco_settings", 10: "modern", 11: "exemplars", 12: "compile", 13: "process", 14: "cpu_step",
                15: "commit", 16: "concepts", 17: "trust", 18: "halving", 19: "ray_photos", 20: "concept_sizes",
                21: "circuits", 22: "atlas_circuits", 23: "trust_validity", 24: "labels", 25: "explorer_speed",
                26: "layer_measures"}


def with_machines(parts: list[str], machines: dict[str, str]) -> list[str]:
    """The report's lines with, under each numbered section's title, the machine and date of its
    last run (sections are rerun one at a time, on whichever machine ran them)."""
    out = []
    for line in parts:
        out.append(line)
        number = line[3:].split(".", 1)[0] if line.startswith("## ") else ""
        key = SECTION_KEYS.get(int(number)) if number.isdigit() else None
        if key in machines:
            out += ["", f"*Measured on: {machines[key]}.*"]
    return out


def concepts_markdown(c: dict) -> list[str]:
    """Section 16."""
    speed = c["collection_vs_exemplars"]
    parts = ["## 16. Concepts: the collection pass, training at scale, and overcomplete", "",
             "`benchmarks/concepts_side.py`, efficientnet-lite0's `head` (read after its ReLU6), photos made by "
             "`benchmarks/photos.py` (crops of the ten colour photos of scikit-image and scikit-learn, "
             "320 x 240 JPEG). Every run is a fresh process (peak memory is its maximum resident set).", "",
             f"The collection pass of `concepts` (100,000 samples) against the exemplars pass of the same layer, "
             f"alternated twice on {speed['photos']} photos (2 DataLoader workers, batches of 32): "
             f"{speed['collection']:.1f} against {speed['exemplars']:.1f} photos/s, a ratio of {speed['ratio']:.2f}.", "",
             table(c["collection_memory"], [("photos", "photos", ""), ("vectors kept", "vectors", ""),
                                            ("seconds", "seconds", ".1f"), ("peak RSS MiB", "peak_rss_mib", ".0f")]),
             "", f"Peak memory grows {c['memory_growth']:+.1%} from the small folder to the large one.", "",
             "One epoch of training (64 concepts, k = 8, minibatches of 1,024), on 100,000 real vectors and on "
             "1,000,000 (the same shards read ten times an epoch):", "",
             table(c["training"], [("method", "method", ""), ("vectors", "vectors", ""), ("s / epoch", "epoch_s", ".1f"),
                                   ("peak RSS MiB", "peak_rss_mib", ".0f")]), ""]
    if isinstance(c["peer"], str):
        parts += [c["peer"], ""]
    else:
        parts += ["Beside overcomplete 0.3.0 (`benchmarks/concepts_peer.py`, in the extras environment, both sides "
                  "in one process), on the same 20,000 training vectors, 64 concepts, k = 8; measured on every "
                  "position of the held-out photos. Explained variance is per dimension (convscope's definition); "
                  "overcomplete's R2 uses one global mean and reads higher. overcomplete's NMF is full batch (all "
                  "vectors in memory, 500 HALS iterations; its time per epoch is per iteration); the others run "
                  "50 epochs of 1,024-vector minibatches.", "",
                  table(c["peer"], [("method", "method", ""), ("explained variance", "explained_variance", ".3f"),
                                    ("global-mean R2", "global_mean_r2", ".3f"), ("L0", "l0", ".1f"),
                                    ("dead share", "dead_share", ".3f"), ("train s", "train_s", ".1f"),
                                    ("s / epoch", "epoch_s", ".2f")]), ""]
    return parts


def spread_text(value: dict, digits: int = 2) -> str:
    """A median with its quartiles, or a dash."""
    if value["median"] is None:
        return "-"
    return f"{value['median']:.{digits}f} ({value['q1']:.{digits}f}-{value['q3']:.{digits}f})"


def trust_markdown(res: dict) -> list[str]:
    """Section 17."""
    rows = res["trust_recipes"]
    photos = rows[0]["photos"]
    parts = ["## 17. Trust: which recipe's pictures show what the units do, at which depth", "",
             f"`benchmarks/trust_recipes.py` ({res['trust_recipes_machine']}): `convscope.stats` with a photo folder "
             "(the trust measures with one picture and one top photo as the references per trial, as the atlas has "
             f"them; 50 trials; judge efficientnet-lite2) for efficientnet-lite0, "
             f"units 0-15 of each layer, over {photos} distinct images no test uses: every photo that ships with "
             "scikit-image and scikit-learn (20 + 2, gray ones included) and the 30 wallpapers of Debian's "
             "plasma-workspace-wallpapers package (photos and renders). Each cell: the median over the units and, in "
             "brackets, the quartiles. Path: 0 = random photos, 1 = the unit's top photos (`-`: the first layer has "
             "no earlier layer). Choice: the share of trials the judge gets right, with the unit's pictures, its top "
             "photos or random photos as references. Seconds: the wall time of each row, with other jobs sharing the "
             "two cores (not a speed figure).", "",
             "| recipe | layer | ratio | ratio > 1 | path score | choice: pictures | choice: top photos | "
             "choice: random photos | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        parts.append(f"| {r['recipe']} | {r['layer']} | {spread_text(r['ratio'])} | {r['ratio_above_1']} of "
                     f"{r['units']} | {spread_text(r['path_score'])} | {spread_text(r['choice_pictures'])} | "
                     f"{spread_text(r['choice_photos'])} | {spread_text(r['choice_random'])} | {r['seconds']:.0f} |")
    parts += ["", f"![The units' pictures, by recipe and layer](sheets/{res['trust_recipes_sheet']})", ""]
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer filters, steps and runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run: {','.join(SECTIONS)}")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--gpu-results", metavar="FILE",
                        help="put a `python -m benchmarks.gpu` result into the report, running nothing else")
    args = parser.parse_args()
    only = [] if args.gpu_results else [s for s in args.only.split(",") if s]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown sections {unknown}: choose from {', '.join(SECTIONS)}")
    raw = Path(args.out).with_suffix(".json")
    previous = json.loads(raw.read_text()) if raw.exists() and set(only) != set(SECTIONS) else {}
    res = run(Lab(args.quick, previous), only)
    if args.gpu_results:
        res["gpu"] = json.loads(Path(args.gpu_results).read_text())
    raw.write_text(json.dumps(res, indent=2) + "\n")
    report = Path(args.out)
    kept = readings(report.read_text()) if report.exists() else {}
    rerun = {number for number, key in SECTION_KEYS.items() if key in only}
    report.write_text(with_readings(markdown(res), kept, rerun))
    print(json.dumps(res, indent=2) if args.json else f"written {args.out}")


if __name__ == "__main__":
    main()

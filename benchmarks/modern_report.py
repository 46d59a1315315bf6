"""BENCHMARKS.md sections 9 to 11: how the maco recipe's defaults were chosen, the modern
recipes beside DreamLens, and dataset examples in one streaming pass."""
from __future__ import annotations

from typing import Callable

SETTINGS = ("steps", "size", "views", "view_size", "crop_scale", "noise", "lr")


def _setting(row: dict, base: dict) -> str:
    """The row's settings where they differ from the first maco row's, bold where they are the shipped recipe's."""
    from convscope.engine.recipes import get_recipe

    if row["recipe"] == "lucid":
        return f"lucid ({row['steps']} steps, 128 px)"
    changed = ", ".join(f"{k} {row[k]}" for k in SETTINGS if row[k] != base[k]) or "first row"
    shipped = get_recipe("maco").as_dict()
    return f"**{changed} (maco as shipped)**" if all(row[k] == shipped[k] for k in SETTINGS) else changed


def _settings_rows(rows: list[dict]) -> list[dict]:
    lucid = next(r["s_per_unit_step"] for r in rows if r["recipe"] == "lucid")
    base = next(r for r in rows if r["recipe"] == "maco")
    return [{**r, "setting": _setting(r, base), "cost": r["s_per_unit_step"] / lucid} for r in rows]


def modern_markdown(res: dict, table: Callable[..., str]) -> list[str]:
    parts: list[str] = []
    if "maco_settings" in res:
        rows = _settings_rows(res["maco_settings"])
        base = next(r for r in res["maco_settings"] if r["recipe"] == "maco")
        first = ", ".join(f"{k} {base[k]}" for k in SETTINGS)
        parts += ["## 9. Choosing the maco recipe's defaults", "",
                  f"`python -m benchmarks --only maco_settings`. A first maco setting ({first}), then one "
                  "setting changed at a time, beside lucid; on efficientnet-lite0, the first units of block8 and of "
                  "head that some built-in photo drives above 0 (head is read before its ReLU6, and most of its "
                  "channel means are negative on every photo), one batch per layer. Ratio: the picture's "
                  "activation (the whole picture resized to the crops' size) over the unit's best on the six "
                  "built-in photos. Centre: the share of the importance map's mass in the central quarter "
                  "(0.25 when even). Cost: seconds per unit-step over lucid's.", "",
                  table(rows, [("setting", "setting", ""), ("s/unit-step", "s_per_unit_step", ".3f"),
                               ("cost", "cost", ".1f"),
                               ("block8 median", "block8_median_ratio", ".1f"),
                               ("block8 min", "block8_min_ratio", ".1f"),
                               ("head median", "head_median_ratio", ".1f"), ("head min", "head_min_ratio", ".1f"),
                               ("block8 centre", "block8_centre_share", ".2f"),
                               ("head centre", "head_centre_share", ".2f")]), ""]
    if "modern" in res:
        parts += ["## 10. The modern recipes beside DreamLens", ""]
        modern = res["modern"]
        if isinstance(modern, str):
            return parts + [modern, ""]
        st = modern["settings"]
        parts += [f"`python -m benchmarks --only modern` (DreamLens 0.1.1 runs in `.venv-bench`). efficientnet-lite0 "
                  "with its preprocessing inside the module DreamLens sees; the first 8 units of block8 and of head "
                  "that a built-in photo drives above 0, and classes 1, 65, 207, 309, 417, 949. Equal steps; "
                  f"`maximize` and `lucid` at {st['lucid']['size']} px; both maco at {st['maco']['size']} px "
                  f"with {st['maco']['views']} crops per step seen at {st['view']} px and noise "
                  f"{st['maco']['noise']} (DreamLens keeps its default crop sizes: "
                  f"{st['dreamlens_maco']['box_size']}). DreamLens's `maximize_channels` renders a layer's units "
                  "in one batch, its `maco` one objective per run; convscope renders each layer's units in one "
                  "batch with either recipe; its maco class pictures use the crops `classviz` gives them, shrinking "
                  f"from {st['maco']['crop_scale']} to {st.get('maco_classes_crop_scale_end')} of the picture over "
                  "the steps. Unit ratios: the picture resized to what the network saw during "
                  "the optimization, over the unit's best built-in photo. Class pictures are shown to "
                  "efficientnet-lite2 and -lite1 at their input size.", ""]
        if "note" in modern:
            parts += [f"**{modern['note']}.**", ""]
        if "dreamlens_alone" in modern:
            first = modern["rows"][0]
            parts += [f"Speed: each method's call at {first['timing_steps']} steps, run once untimed and then in "
                      f"{first['rounds']} alternated timed rounds after the pictures' runs; unit-steps/s is the median "
                      "and, in brackets, the range. In this shared process convscope's first render switches on its "
                      "kept-freed-memory setting (`convscope.runtime.heap`, a setting of the whole process), so "
                      "DreamLens runs with it too. As DreamLens's users run it, in a process of its own (convscope "
                      "only loads the network there), its `maximize` makes "
                      + "; ".join(f"{v['median']:.1f} [{v['range'][0]:.1f}-{v['range'][1]:.1f}] unit-steps/s on {k}"
                                  for k, v in modern["dreamlens_alone"].items()) + ".", ""]
            for r in modern["rows"]:
                low, high = r["unit_steps_per_s_range"]
                r["rate_text"] = f"{r['unit_steps_per_s']:.1f} [{low:.1f}-{high:.1f}]"
        else:
            for r in modern["rows"]:
                r["rate_text"] = f"{r['unit_steps_per_s']:.2f}"
        units = [r for r in modern["rows"] if r["layer"] != "logits"]
        classes = [r for r in modern["rows"] if r["layer"] == "logits"]
        parts += [table(units, [("layer", "layer", ""), ("method", "method", ""), ("units", "targets", ""),
                                ("unit-steps/s", "rate_text", ""),
                                ("median ratio", "median_ratio", ".1f"), ("min ratio", "min_ratio", ".1f"),
                                ("above best photo", "above_best_photo", "")]), "",
                  table(classes, [("method", "method", ""), ("classes", "targets", ""),
                                  ("unit-steps/s", "rate_text", ""),
                                  ("lite2 ranks", "lite2_ranks", ""), ("lite2 median rank", "lite2_median_rank", ""),
                                  ("lite2 median p", "lite2_median_probability", ".3f"),
                                  ("lite1 median rank", "lite1_median_rank", "")]), "",
                  "Importance maps, share of mass in the central quarter (median over a layer's pictures; "
                  "0.25 when even):", "",
                  table([r for r in modern["rows"] if "importance_centre_share" in r],
                        [("layer", "layer", ""), ("method", "method", ""),
                         ("centre share", "importance_centre_share", ".2f")]), "",
                  "Contact sheets (each picture resized to 128 px; rows: block8, head, classes): "
                  + ", ".join(f"[{m}](sheets/{path.rsplit('/', 1)[-1]})" for m, path in modern["sheets"].items())
                  + ".", ""]
    if "exemplars" in res:
        ex = res["exemplars"]
        parts += ["## 11. Dataset examples in one streaming pass", "",
                  "`python -m benchmarks --only exemplars`. `convscope exemplars` over every conv layer of "
                  f"efficientnet-lite0 ({ex['layers']} layers) at 224 px, batch 64, 2 decoding workers, on JPEGs "
                  "of 500 x 375 made by `benchmarks/photos.py` (crops and flips of the ten colour photos of scikit-image and "
                  "scikit-learn) in 10 class folders; "
                  "beside it, the loop the atlas used for its photo statistics: every photo read and prepared, "
                  "then one photo at a time through the network once per layer. Each run is a fresh process; "
                  "peak memory is that process's maximum resident size (the decoding workers are separate "
                  "processes, each holding at most two batches of pixels).", "",
                  table(ex["rows"], [("run", "run", ""), ("photos", "photos", ""), ("seconds", "seconds", ".1f"),
                                     ("photos/s", "photos_per_s", ".1f"), ("peak RSS MiB", "peak_rss_mib", ".0f")]),
                  "",
                  f"The streaming pass is {ex['speedup']:.1f}x the per-layer loop's photos per second; its peak "
                  f"memory for the larger folder differs from the smaller one's by {ex['memory_growth']:+.0%}.", ""]
    if "compile" in res:
        parts += ["## 12. Compiled render steps beside eager ones", "",
                  "`python -m benchmarks --only compile`, in a fresh process with an empty inductor cache. "
                  "`--compile on` compiles the network's blocks up to the deepest layer read "
                  "(`convscope.engine.compiled`); each row times one batch of units, eager and compiled renders "
                  "alternated after the first compiled render (which includes compiling: its excess over a "
                  "compiled render is the compile time). Pixel difference: the largest over the pictures, in "
                  "8-bit levels. VGG16 has random weights.", "",
                  table(res["compile"], [("model", "model", ""), ("layer", "layer", ""), ("recipe", "recipe", ""),
                                         ("units", "units", ""), ("steps", "steps", ""),
                                         ("eager s/unit-step", "eager_s_per_unit_step", ".4f"),
                                         ("compiled s/unit-step", "compiled_s_per_unit_step", ".4f"),
                                         ("speed-up", "speedup", ".2f"), ("compile s", "compile_s", ".0f"),
                                         ("pixel diff", "max_pixel_diff", ".0f")]), ""]
        if "compile_relu6" in res:
            relu6 = res["compile_relu6"]
            parts += [f"Where the compiled steps lose: a ReLU6 forward whose input needs a gradient (32 x 144 x 32 "
                      f"x 32, channels last) takes {relu6['eager_ms']:.1f} ms eager and {relu6['compiled_ms']:.1f} "
                      f"ms compiled ({relu6['compiled_ms'] / relu6['eager_ms']:.0f}x).", ""]
    return parts

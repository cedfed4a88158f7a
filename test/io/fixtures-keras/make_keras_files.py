"""Writes Keras weight files for test/io/keras-import.test.ts: python3 make_keras_files.py OUT_DIR

No Keras is installed (Debian 12 packages no python3-keras, and the CI installs none), so the files are written
with h5py in exactly the layouts Keras writes, following its sources (keras-team/keras, keras/src):

  Keras 3 .weights.h5 (saving/saving_lib.py):
    - save_weights_only -> _save_state(model, inner_path=""): H5IOStore.make(inner_path) creates
      "<inner_path>/vars" ("vars" at the root, for the model's own variables), then _walk_saveable yields
      ("layers", model.layers) first for Sequential/Functional, then other attributes (the optimizer: "optimizer").
    - _save_container_state names each layer of the list naming.to_snake_case(type(layer).__name__), made unique
      with "_1", "_2", ... in list order (used_names) -- not layer.name.
    - Layer.save_own_variables (layers/layer.py): store[str(i)] = v for v in
      _trainable_variables + _non_trainable_variables; BaseConv and Dense store [kernel, bias?] the same way.
    - Keras < 3.6 creates a vars group for every saveable, even without variables ("old" style below); later
      versions pass metadata={"name": saveable.name}, written as the attribute "name" of the vars group ("new").
    - bfloat16 values: create_dataset(key, data=value) and attrs["dtype"] = "bfloat16" (H5IOStore.__setitem__).
  .keras archive (saving_lib._save_model_to_fileobj): a zip with metadata.json, config.json and
    model.weights.h5, written by zipfile.ZipFile(f, "w") (ZIP_STORED).
  Keras 2 HDF5 (legacy/saving/legacy_h5_format.py):
    - save_weights_to_hdf5_group: attrs layer_names = [layer.name for layer in model.layers], backend,
      keras_version; one group per layer (created in name order), attrs weight_names, one dataset per weight at
      g[weight_name] ("conv2d/kernel:0" in tf.keras 2, w.path "conv2d/kernel" in Keras 3's writer);
      Keras 3 also writes top_level_model_weights.
    - save_attributes_to_hdf5_group splits an attribute larger than 64512 bytes into name0, name1, ...
    - save_model_to_hdf5: root attrs model_config/training_config (JSON), weights under model_weights/,
      optimizer state under optimizer_weights/.
  Functional layer order (ops/function.py map_graph): by depth from the inputs, ties by first visit of a
  depth-first walk from the outputs. For the 'small' model below it is worked out by hand in SMALL's comment.

Values are random (seeded). expected.json + expected.bin hold every array as the test must find it in nodegrad
(float32 little-endian; float64 for the PyTorch outputs), keyed "<model>/<nodegrad variable name>". When torch
imports, the forward passes of both models are computed in float64 with PyTorch from the same float32 weights
(kernels transposed to OIHW) as an independent oracle.
"""
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20240611)


def to_snake_case(name):
    # keras/src/utils/naming.py to_snake_case
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


# Each model: its layers in Keras' model.layers order: (class name, layer name, [(weight name, shape)]), weights
# in Keras' order (trainable then non-trainable, in build order).
MNIST = [
    ("InputLayer", "input_layer", []),
    ("Conv2D", "conv2d", [("kernel", (3, 3, 1, 32)), ("bias", (32,))]),
    ("MaxPooling2D", "max_pooling2d", []),
    ("Conv2D", "conv2d_1", [("kernel", (3, 3, 32, 64)), ("bias", (64,))]),
    ("MaxPooling2D", "max_pooling2d_1", []),
    ("Conv2D", "conv2d_2", [("kernel", (3, 3, 64, 128)), ("bias", (128,))]),
    ("Flatten", "flatten", []),
    ("Dense", "dense", [("kernel", (1152, 10)), ("bias", (10,))]),
]

# The small model, layers named in creation order:
#   x = Input((12, 12, 3))
#   a = Conv2D(8, 3, padding="same", use_bias=False, name="conv2d")(x)
#   a = BatchNormalization(name="batch_normalization")(a); a = ReLU(name="re_lu")(a)
#   s = Conv2D(16, 1, name="conv2d_1")(a)                                   # shortcut, created before the branch
#   m = DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="depthwise_conv2d")(a)
#   m = BatchNormalization(center=False, name="batch_normalization_1")(m)   # gamma, moving stats
#   m = SeparableConv2D(16, 3, padding="same", name="separable_conv2d")(m)
#   m = Conv2D(16, 3, padding="same", name="conv2d_2")(m)
#   m = BatchNormalization(scale=False, name="batch_normalization_2")(m)    # beta, moving stats
#   y = Add(name="add")([s, m]); y = Conv2DTranspose(4, 3, strides=2, name="conv2d_transpose")(y)   # 25x25x4
#   y = GlobalAveragePooling2D(name="global_average_pooling2d")(y); out = Dense(5, name="dense")(y)
# map_graph: the depth-first walk from the output visits dense, gap, conv2d_transpose, add, then add's inputs in
# order: the shortcut conv2d_1 (and re_lu ... input behind it) first, then batch_normalization_2, conv2d_2, ...
# Depths (longest path to the output): dense 0, gap 1, conv2d_transpose 2, add 3, conv2d_1 4,
# batch_normalization_2 4, conv2d_2 5, separable 6, batch_normalization_1 7, depthwise 8, re_lu 9 (the longer of
# the two paths), batch_normalization 10, conv2d 11, input 12. Sorted by depth (ties by first visit: conv2d_1
# before batch_normalization_2), model.layers lists conv2d_2 before conv2d_1 although the walk met conv2d_1 first,
# so the object path layers/conv2d_1 holds conv2d_2's weights and layers/conv2d_2 the shortcut's.
SMALL = [
    ("InputLayer", "input_layer", []),
    ("Conv2D", "conv2d", [("kernel", (3, 3, 3, 8))]),
    ("BatchNormalization", "batch_normalization", [("gamma", (8,)), ("beta", (8,)), ("moving_mean", (8,)), ("moving_variance", (8,))]),
    ("ReLU", "re_lu", []),
    ("DepthwiseConv2D", "depthwise_conv2d", [("depthwise_kernel", (3, 3, 8, 2)), ("bias", (16,))]),
    ("BatchNormalization", "batch_normalization_1", [("gamma", (16,)), ("moving_mean", (16,)), ("moving_variance", (16,))]),
    ("SeparableConv2D", "separable_conv2d", [("depthwise_kernel", (3, 3, 16, 1)), ("pointwise_kernel", (1, 1, 16, 16)), ("bias", (16,))]),
    ("Conv2D", "conv2d_2", [("kernel", (3, 3, 16, 16)), ("bias", (16,))]),
    ("Conv2D", "conv2d_1", [("kernel", (1, 1, 8, 16)), ("bias", (16,))]),
    ("BatchNormalization", "batch_normalization_2", [("beta", (16,)), ("moving_mean", (16,)), ("moving_variance", (16,))]),
    ("Add", "add", []),
    ("Conv2DTranspose", "conv2d_transpose", [("kernel", (3, 3, 4, 16)), ("bias", (4,))]),
    ("GlobalAveragePooling2D", "global_average_pooling2d", []),
    ("Dense", "dense", [("kernel", (4, 5)), ("bias", (5,))]),
]

# A pretrained base as a nested Sequential under a new head (transfer learning). A model entry holds its layers in
# place of weights. Keras 3 saves the nested model's layers under layers/sequential/layers/<object>/vars (its own
# vars at layers/sequential/vars); Keras 2 saves one group 'sequential' with all its weights in _legacy_weights
# order: every trainable weight of its layers, then every non-trainable one (the moving statistics last).
BN4 = [("gamma", (4,)), ("beta", (4,)), ("moving_mean", (4,)), ("moving_variance", (4,))]
NESTED = [
    ("InputLayer", "input_layer", []),
    ("Sequential", "sequential", [
        ("Conv2D", "conv2d", [("kernel", (3, 3, 3, 4)), ("bias", (4,))]),
        ("BatchNormalization", "batch_normalization", BN4),
        ("Conv2D", "conv2d_1", [("kernel", (3, 3, 4, 4)), ("bias", (4,))]),
        ("BatchNormalization", "batch_normalization_1", BN4),
    ]),
    ("GlobalAveragePooling2D", "global_average_pooling2d", []),
    ("Dense", "dense", [("kernel", (4, 3)), ("bias", (3,))]),
]
MODELS = ("Sequential", "Functional")


def leaves(model):
    for entry in model:
        if entry[0] in MODELS:
            yield from leaves(entry[2])
        else:
            yield entry


def legacy_weights(entry):
    """(key, weight name) of a top-level layer in _legacy_weights order."""
    if entry[0] not in MODELS:
        return [(f"{entry[1]}/{w}", w) for w, _ in entry[2]]
    ws = [(f"{l[1]}/{w}", w) for l in leaves(entry[2]) for w, _ in l[2]]
    return [x for x in ws if not x[1].startswith("moving_")] + [x for x in ws if x[1].startswith("moving_")]


def random_weights(model):
    """Float32 values: kernels ~ N(0, 1/fan_in), biases and betas small, gammas near 1, variances in [0.5, 1.5]."""
    values = {}
    for _, lname, weights in leaves(model):
        for wname, shape in weights:
            if wname == "moving_variance":
                v = rng.uniform(0.5, 1.5, shape)
            elif wname == "gamma":
                v = rng.uniform(0.5, 1.5, shape)
            elif len(shape) == 1:
                v = rng.normal(0, 0.1, shape)
            else:
                fan_in = int(np.prod(shape[:-1])) if "depthwise" not in wname else int(np.prod(shape[:2]))
                v = rng.normal(0, 1 / np.sqrt(fan_in), shape)
            values[f"{lname}/{wname}"] = v.astype(np.float32)
    return values


def keras3_paths(model, prefix=""):
    """(object path, layer) in _save_container_state's naming, nested models included (with their own entry)."""
    used, out = {}, []
    for entry in model:
        name = to_snake_case(entry[0])
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{prefix}layers/{name}"
        if entry[0] in MODELS:
            out.append((path, (entry[0], entry[1], [])))
            out.extend(keras3_paths(entry[2], path + "/"))
        else:
            out.append((path, entry))
    return out


def write_keras3(target, model, values, style="old", optimizer=False, dtypes=None, compress=None):
    """A Keras 3 weights file. dtypes: {weight key: 'float16' | 'float64' | 'bfloat16' | 'int32'}."""
    dtypes = dtypes or {}
    with h5py.File(target, "w") as f:
        root = f.create_group("vars")  # the model's own variables (none)
        if style == "new":
            root.attrs["name"] = "model"
        for path, (_, lname, weights) in keras3_paths(model):
            g = f.create_group(path).create_group("vars")
            if style == "new":
                g.attrs["name"] = lname
            for i, (wname, _) in enumerate(weights):
                key = f"{lname}/{wname}"
                v = values[key]
                dt = dtypes.get(key)
                if dt == "bfloat16":
                    # ml_dtypes.bfloat16 reaches h5py as 2-byte opaque data; its bits are the float32's top half.
                    bits = (v.view(np.uint32) >> 16).astype("<u2")
                    ds = g.create_dataset(str(i), data=bits.view("V2"))
                    ds.attrs["dtype"] = "bfloat16"
                elif dt is not None:
                    g.create_dataset(str(i), data=v.astype(dt))
                elif compress and key in compress:
                    g.create_dataset(str(i), data=v, chunks=True, **compress[key])
                else:
                    g[str(i)] = v
        if optimizer:
            # Adam's variables: iterations, learning_rate, then a momentum and a velocity per trainable weight.
            g = f.create_group("optimizer").create_group("vars")
            g["0"] = np.int64(12)
            g["1"] = np.float32(1e-3)
            k = 2
            for _, lname, weights in leaves(model):
                for wname, shape in weights:
                    if wname.startswith("moving_"):
                        continue
                    g[str(k)] = np.zeros(shape, np.float32)
                    k += 1


def write_legacy(target, model, values, style="tf2", names=None, whole_model=False, chunk_layer_names=False):
    """A Keras 2 HDF5 file: save_weights (whole_model=False) or save (True). names: layer renames."""
    names = names or {}
    with h5py.File(target, "w") as f:
        if whole_model:
            f.attrs["keras_version"] = b"3.3.3"
            f.attrs["backend"] = b"tensorflow"
            f.attrs["model_config"] = json.dumps({"class_name": "Functional", "config": {"name": "model"}}).encode()
            f.attrs["training_config"] = json.dumps({"optimizer_config": {"class_name": "Adam"}}).encode()
            g = f.create_group("model_weights")
        else:
            g = f
        layer_names = [names.get(l[1], l[1]).encode() for l in model]
        if chunk_layer_names:
            half = len(layer_names) // 2
            g.attrs["layer_names0"] = np.array(layer_names[:half])
            g.attrs["layer_names1"] = np.array(layer_names[half:])
        else:
            g.attrs["layer_names"] = np.array(layer_names)
        g.attrs["backend"] = b"tensorflow"
        g.attrs["keras_version"] = b"2.15.0" if style == "tf2" else b"3.3.3"
        for entry in sorted(model, key=lambda l: names.get(l[1], l[1])):
            fname = names.get(entry[1], entry[1])
            lg = g.create_group(fname)
            ws = legacy_weights(entry)
            # tf.keras 2 writes w.name ("conv2d/kernel:0"; inside a nested model the inner layer's name), Keras 3
            # w.path ("conv2d/kernel", "sequential/conv2d/kernel").
            if entry[0] in MODELS:
                wnames = [(f"{key}:0" if style == "tf2" else f"{fname}/{key}") for key, _ in ws]
            else:
                wnames = [(f"{fname}/{w}:0" if style == "tf2" else f"{fname}/{w}") for _, w in ws]
            lg.attrs["weight_names"] = np.array([w.encode() for w in wnames]) if wnames else []
            for wn, (key, _) in zip(wnames, ws):
                lg.create_dataset(wn, data=values[key])
        if whole_model:
            t = g.create_group("top_level_model_weights")
            t.attrs["weight_names"] = []
            o = f.create_group("optimizer_weights")
            o.attrs["weight_names"] = np.array([b"adam/iteration", b"adam/learning_rate"])
            o.create_dataset("adam/iteration", data=np.int64(12))
            o.create_dataset("adam/learning_rate", data=np.float32(1e-3))


def write_keras_zip(target, weights_file, compression=zipfile.ZIP_STORED, weights_name="model.weights.h5"):
    with open(weights_file, "rb") as fh:
        data = fh.read()
    with zipfile.ZipFile(target, "w", compression=compression) as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.3.3", "date_saved": "2024-06-11@12:00:00"}))
        zf.writestr("config.json", json.dumps({"module": "keras", "class_name": "Functional", "config": {"name": "model"}}))
        zf.writestr(weights_name, data)


# ---------------------------------------------------------------------------------------------------------------
mnist = random_weights(MNIST)
small = random_weights(SMALL)
p = lambda name: os.path.join(OUT, name)

write_keras3(p("mnist.weights.h5"), MNIST, mnist, style="old", optimizer=True)
write_keras3(p("small.weights.h5"), SMALL, small, style="new")
write_keras_zip(p("mnist.keras"), p("mnist.weights.h5"))
write_keras_zip(p("small.keras"), p("small.weights.h5"), compression=zipfile.ZIP_DEFLATED)
write_keras_zip(p("npz.keras"), p("small.weights.h5"), weights_name="model.weights.npz")
write_legacy(p("mnist_legacy.h5"), MNIST, mnist, style="tf2")
write_legacy(p("small_legacy_model.h5"), SMALL, small, style="keras3", whole_model=True)
write_legacy(p("mnist_legacy_chunked.h5"), MNIST, mnist, style="tf2", chunk_layer_names=True)
# The same weights saved from a session where other layers came first: other layer names, same order.
renames = {"conv2d": "conv2d_3", "conv2d_1": "conv2d_4", "conv2d_2": "conv2d_5", "dense": "dense_7",
           "max_pooling2d": "max_pooling2d_2", "max_pooling2d_1": "max_pooling2d_3", "flatten": "flatten_1", "input_layer": "input_2"}
write_legacy(p("mnist_renamed_legacy.h5"), MNIST, mnist, style="tf2", names=renames)

# dtypes: float16 everywhere; float64 / bfloat16 / float32 mixed; an int32 bias; compression filters.
write_keras3(p("mnist_f16.weights.h5"), MNIST, mnist, dtypes={k: "float16" for k in mnist})
mixed = {"conv2d/kernel": "float64", "conv2d_1/kernel": "bfloat16", "dense/kernel": "bfloat16", "dense/bias": "float64"}
write_keras3(p("mnist_mixed.weights.h5"), MNIST, mnist, dtypes=mixed)
write_keras3(p("mnist_int.weights.h5"), MNIST, mnist, dtypes={"dense/bias": "int32"})
write_keras3(p("mnist_gzip.weights.h5"), MNIST, mnist, compress={"conv2d_2/kernel": {"compression": "gzip", "shuffle": True, "fletcher32": True}})
write_keras3(p("mnist_lzf.weights.h5"), MNIST, mnist, compress={"conv2d_1/kernel": {"compression": "lzf"}})
nested = random_weights(NESTED)
write_keras3(p("nested.weights.h5"), NESTED, nested, style="old")
write_legacy(p("nested_legacy.h5"), NESTED, nested, style="keras3")
write_legacy(p("nested_legacy_tf2.h5"), NESTED, nested, style="tf2", names={"sequential": "base"})
with h5py.File(p("not_keras.h5"), "w") as f:
    f["data"] = np.arange(4, dtype=np.float32)

# ---------------------------------------------------------------------------------------------------------------
# What the test must find, and the PyTorch oracle.
arrays = {}
for k, v in mnist.items():
    arrays[f"mnist/{k}"] = v
for k, v in small.items():
    arrays[f"small/{k}"] = v
for k, v in nested.items():
    arrays[f"nested/{k}"] = v
for k, v in mnist.items():
    arrays[f"mnist_f16/{k}"] = v.astype(np.float16).astype(np.float32)
    dt = mixed.get(k)
    arrays[f"mnist_mixed/{k}"] = ((v.view(np.uint32) >> 16) << 16).view(np.float32) if dt == "bfloat16" else v
x_mnist = rng.uniform(0, 1, (4, 28, 28, 1)).astype(np.float32)
x_small = rng.normal(0, 1, (2, 12, 12, 3)).astype(np.float32)
arrays["mnist/x"] = x_mnist
arrays["small/x"] = x_small

have_torch = True
try:
    import torch
    import torch.nn.functional as F
except Exception:  # the test then skips the PyTorch comparison and says why
    have_torch = False

if have_torch:
    torch.set_grad_enabled(False)
    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))
    oihw = lambda k: t(k).permute(3, 2, 0, 1)  # HWIO -> OIHW

    def bn(y, w, name, gamma=True, beta=True):
        # BatchNormalization at inference (Keras epsilon 1e-3), per channel (dim 1 in NCHW).
        sh = (1, -1, 1, 1)
        out = (y - t(w[f"{name}/moving_mean"]).view(sh)) / torch.sqrt(t(w[f"{name}/moving_variance"]).view(sh) + 1e-3)
        if gamma:
            out = out * t(w[f"{name}/gamma"]).view(sh)
        if beta:
            out = out + t(w[f"{name}/beta"]).view(sh)
        return out

    w = mnist
    y = t(x_mnist).permute(0, 3, 1, 2)
    for i, name in enumerate(["conv2d", "conv2d_1", "conv2d_2"]):
        y = F.relu(F.conv2d(y, oihw(w[f"{name}/kernel"]), t(w[f"{name}/bias"])))
        if i < 2:
            y = F.max_pool2d(y, 2)
    y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1)  # Keras flattens NHWC
    logits = y @ t(w["dense/kernel"]) + t(w["dense/bias"])
    arrays["mnist/logits_torch"] = logits.numpy()
    arrays["mnist/y_torch"] = torch.softmax(logits, dim=-1).numpy()

    w = small
    y = t(x_small).permute(0, 3, 1, 2)
    a = F.relu(bn(F.conv2d(y, oihw(w["conv2d/kernel"]), padding=1), w, "batch_normalization"))
    s = F.conv2d(a, oihw(w["conv2d_1/kernel"]), t(w["conv2d_1/bias"]))
    # Depthwise [kh, kw, C, M] -> output channel c*M + m uses input channel c: torch weight [C*M, 1, kh, kw].
    dk = t(w["depthwise_conv2d/depthwise_kernel"])
    dk = dk.reshape(3, 3, -1).permute(2, 0, 1).unsqueeze(1)
    m = F.conv2d(a, dk, t(w["depthwise_conv2d/bias"]), padding=1, groups=8)
    m = bn(m, w, "batch_normalization_1", beta=False)
    sk = t(w["separable_conv2d/depthwise_kernel"]).reshape(3, 3, -1).permute(2, 0, 1).unsqueeze(1)
    m = F.conv2d(m, sk, padding=1, groups=16)
    m = F.conv2d(m, oihw(w["separable_conv2d/pointwise_kernel"]), t(w["separable_conv2d/bias"]))
    m = F.conv2d(m, oihw(w["conv2d_2/kernel"]), t(w["conv2d_2/bias"]), padding=1)
    m = bn(m, w, "batch_normalization_2", gamma=False)
    y = s + m
    # Conv2DTranspose kernel [kh, kw, out, in] -> torch conv_transpose2d weight [in, out, kh, kw].
    y = F.conv_transpose2d(y, t(w["conv2d_transpose/kernel"]).permute(3, 2, 0, 1), t(w["conv2d_transpose/bias"]), stride=2)
    y = y.mean(dim=(2, 3))
    arrays["small/y_torch"] = (y @ t(w["dense/kernel"]) + t(w["dense/bias"])).numpy()

manifest, blobs, offset = {}, [], 0
for k, v in arrays.items():
    v = np.ascontiguousarray(v)
    dt = "f8" if v.dtype == np.float64 else "f4"
    b = v.astype("<" + dt).tobytes()
    manifest[k] = {"shape": list(v.shape), "dtype": dt, "offset": offset, "bytes": len(b)}
    blobs.append(b)
    offset += len(b)
with open(p("expected.bin"), "wb") as fh:
    fh.write(b"".join(blobs))
with open(p("expected.json"), "w") as fh:
    json.dump({"torch": have_torch, "torch_version": torch.__version__ if have_torch else None, "arrays": manifest}, fh)

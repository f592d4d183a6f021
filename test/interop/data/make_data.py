"""Writes the small numpy/h5py files test/interop uses (run with /usr/bin/python3; numpy 1.24, h5py 3.7).

The files are committed; this script documents how they were made.
"""
import gzip
import os

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
p = lambda name: os.path.join(here, name)

# 6 samples of 2x3 "images", labels 0..2
x = (np.arange(36, dtype=np.float32).reshape(6, 2, 3) / 10).astype(np.float32)
y = np.array([0, 1, 2, 2, 1, 0], dtype=np.int64)
np.save(p("x.npy"), x)
np.save(p("y.npy"), y)
np.savez(p("xy_stored.npz"), X=x, labels=y)
np.savez_compressed(p("xy_deflated.npz"), data=x.astype(np.float64), targets=y.astype(np.int32))
np.save(p("x_fortran_f64.npy"), np.asfortranarray(x.reshape(6, 6).astype(np.float64)))
np.save(p("x_bigendian.npy"), x.reshape(6, 6).astype(">f4"))
np.save(p("x_uint8.npy"), (x.reshape(6, 6) * 10).astype(np.uint8))
np.save(p("y_short.npy"), y[:5])

# state-dict-like HDF5 (one checkpoint) and one with a group per checkpoint
w = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
b = np.array([0.5, -0.5, 0.25], dtype=np.float32)
with h5py.File(p("state_dict.h5"), "w") as f:
    f["fc.weight"] = w
    f["fc.bias"] = b
    f["fc.num_batches_tracked"] = np.int64(3)
with h5py.File(p("state_dicts_grouped.h5"), "w") as f:
    for k in [10, 2, 1]:
        g = f.create_group(f"epoch{k}")
        g["fc.weight"] = w * k
        g["fc.bias"] = b * k

# MNIST-format IDX pair, gzipped
imgs = (np.arange(4 * 3 * 3) % 256).astype(np.uint8).reshape(4, 3, 3)
lab = np.array([3, 1, 4, 1], dtype=np.uint8)
with gzip.open(p("tiny-images-idx3-ubyte.gz"), "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + np.array([4, 3, 3], dtype=">u4").tobytes() + imgs.tobytes())
with gzip.open(p("tiny-labels-idx1-ubyte.gz"), "wb") as f:
    f.write(bytes([0, 0, 8, 1]) + np.array([4], dtype=">u4").tobytes() + lab.tobytes())

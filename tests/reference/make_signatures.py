"""Writes tests/engine/fixtures/signatures_misc.txt: ``name (signature)`` of real NNabla 1.36's functions listed
below, one a line; run by hand: ``"$(/work/shared/tools/nnabla-reference)" tests/reference/make_signatures.py``."""

import inspect
import os

import nnabla.functions as F

NAMES = (
    "stft istft fft ifft nms_detection2d onnx_non_max_suppression onnx_resize roi_align affine_grid warp_by_grid "
    "warp_by_flow patch_correlation deformable_convolution adaptive_separable_convolution fused_convolution "
    "sync_batch_normalization image_augmentation random_crop random_erase random_flip random_shift "
    "max_pooling_backward unlink vat_noise top_k_grad"
).split()

if __name__ == "__main__":
    path = os.path.join(os.path.dirname(__file__), "..", "engine", "fixtures", "signatures_misc.txt")
    with open(path, "w") as f:
        for name in NAMES:
            f.write(f"{name} {inspect.signature(getattr(F, name))}\n")

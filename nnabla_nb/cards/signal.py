"""Cards of the Fourier transforms (engine/nnabla/_ops/signal.py); complex numbers are (real, imag) pairs on
the last axis."""

from . import Card

CARDS = {
    "FFT": Card(
        "The discrete Fourier transform over the last signal_ndim axes.",
        r"Y_{k} = c \sum_{n} X_{n}\, e^{-2\pi i\, k n / N},\quad c = 1 \text{ or } 1/\sqrt{N}",
        r"\bar{X}_{n} = c \sum_{k} \bar{Y}_{k}\, e^{+2\pi i\, k n / N}",
    ),
    "IFFT": Card(
        "The inverse discrete Fourier transform.",
        r"X_{n} = c \sum_{k} Y_{k}\, e^{+2\pi i\, k n / N},\quad c = 1/N \text{ or } 1/\sqrt{N}",
        r"\bar{Y}_{k} = c \sum_{n} \bar{X}_{n}\, e^{-2\pi i\, k n / N}",
    ),
    "STFT": Card(
        "Short-time Fourier transform: the DFT of windowed frames of a signal.",
        r"Y_{f,t} = \sum_{n} w_{n}\, x_{t s + n}\, e^{-2\pi i\, f n / N}",
        r"\bar{x}_{m} = \sum_{t,f} \operatorname{Re}\big(\bar{Y}_{f,t}^{*}\, w_{m - t s}\, e^{-2\pi i\, f (m - t s) "
        r"/ N}\big)",
    ),
    "ISTFT": Card(
        "Inverse STFT: overlap-add of the inverse DFT of each frame, divided by the summed squared window.",
        r"x_{m} = \frac{\sum_{t} w_{m - t s}\, \operatorname{IDFT}(Y_{:,t})_{m - t s}}{\sum_{t} w_{m - t s}^{2}}",
        r"\bar{Y} = \text{the STFT of } \bar{x} \text{ divided by the window envelope (a linear map's transpose)}",
    ),
}

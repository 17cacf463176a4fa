/* Native float32 convolutions for the engine's CPU backend, computed directly on channel-last memory.

   This file is compiled once per instruction set (NNB_ISA: avx512 or avx2, by hatch_build.py) into one shared
   library with dispatch.c, which tells the engine which of them the CPU runs; the engine calls them through
   ctypes, which lets go of the GIL, so its own threads (nnabla._ops._blas.share_slices) share a call's batch
   slices. Where the library is missing, the engine computes the same convolutions with numpy.

   Layouts (contiguous float32):
     x   (B, H, W, C)        the input, channels last (each image is padded into a buffer of its own);
     w   (KH, KW, C, OCP)    the kernel, output channels last, padded with zeros to OCP, a multiple of 16;
     y   (B, OH, OW, OC)     the output, channels last;
     gy  (B, OH, OW, OC)     the output gradient;
     gw  (KH, KW, C, OCP)    the kernel gradient, added into.
   A one-dimensional convolution is a two-dimensional one with KH = OH = Hp = 1.

   Each output element is one running sum of products (fused where the CPU fuses), over (kh, kw, c) in that
   order: the order of im2col's columns, which OpenBLAS's kernels also add in. A kernel-gradient element is one
   running sum over the positions of the call's batch slice, in memory order. */

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 32")
#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define NAME(f) CAT(f, NNB_ISA)

/* one vector of output channels: 16 lanes with AVX-512 (32 registers), 8 with AVX2 (16 registers); the widest
   tiles (columns or channels by one or two vectors) whose accumulators stay in the registers */
#if defined(__AVX512F__)
#define LANES 16
#define WIDEST_1 24
#define WIDEST_2 12
#define TILE_WIDTHS 24, 12, 8, 4, 2, 1
#define TILE_CASES(NB, CALL) CALL(NB, 24) CALL(NB, 12) CALL(NB, 8) CALL(NB, 4) CALL(NB, 2) CALL(NB, 1)
#else
#define LANES 8
#define WIDEST_1 12
#define WIDEST_2 6
#define TILE_WIDTHS 12, 8, 6, 4, 2, 1
#define TILE_CASES(NB, CALL) CALL(NB, 12) CALL(NB, 8) CALL(NB, 6) CALL(NB, 4) CALL(NB, 2) CALL(NB, 1)
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));

INLINE vec load(const float *p) { vec v; memcpy(&v, p, sizeof v); return v; }
INLINE void store(float *p, vec v) { memcpy(p, &v, sizeof v); }
#if LANES == 16
INLINE vec splat(float s) { return (vec){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }
#else
INLINE vec splat(float s) { return (vec){s, s, s, s, s, s, s, s}; }
#endif
INLINE vec load_part(const float *p, long n) { vec v = splat(0.0f); memcpy(&v, p, n * sizeof(float)); return v; }
INLINE void store_part(float *p, vec v, long n) { memcpy(p, &v, n * sizeof(float)); }

/* a tile's width: the widest of TILE_WIDTHS (the TILE_CASES) that fits */
static long tile_width(long left, long widest) {
    static const long widths[] = {TILE_WIDTHS};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; ++i)
        if (widths[i] <= widest && widths[i] <= left) return widths[i];
    return 1;
}

/* The window of one kernel row (kh): KW offsets of C channels, pitch `step` apart (a column dilation), or, with
   a dilation of 1, one run of KW * C contiguous elements (a kernel of KW = 1 and KW * C channels). */
typedef struct {
    long offsets, channels, step;
} Window;

INLINE Window window_of(long KW, long C, long dw) {
    Window win = {KW, C, dw * C};
    if (dw == 1) win = (Window){1, KW * C, 0};
    return win;
}

/* One tile of the forward: RW consecutive output columns by NB vectors of output channels. x points at the tile's
   first window (its top-left input element), y at its first output. */
INLINE void forward_tile(const int NB, const int RW, const float *x, long xstep, long rowstep, Window win,
                         const float *w, long KH, long OCP, float *y, long OC, long oc_left) {
    vec acc[WIDEST_1][2];
    UNROLL for (int r = 0; r < RW; ++r)
        UNROLL for (int b = 0; b < NB; ++b) acc[r][b] = splat(0.0f);
    for (long kh = 0; kh < KH; ++kh)
        for (long kw = 0; kw < win.offsets; ++kw) {
            const float *xk = x + kh * rowstep + kw * win.step;
            const float *wk = w + (kh * win.offsets + kw) * win.channels * OCP;
            for (long c = 0; c < win.channels; ++c) {
                vec wv[2];
                UNROLL for (int b = 0; b < NB; ++b) wv[b] = load(wk + c * OCP + b * LANES);
                UNROLL for (int r = 0; r < RW; ++r) {
                    vec xv = splat(xk[r * xstep + c]);
                    UNROLL for (int b = 0; b < NB; ++b) acc[r][b] += xv * wv[b];
                }
            }
        }
    UNROLL for (int r = 0; r < RW; ++r)
        UNROLL for (int b = 0; b < NB; ++b) {
            long left = oc_left - b * LANES;
            if (left >= LANES)
                store(y + r * OC + b * LANES, acc[r][b]);
            else if (left > 0)
                store_part(y + r * OC + b * LANES, acc[r][b], left);
        }
}

#define FORWARD_CASE(NB, RW) \
    case RW: forward_tile(NB, RW, x, xstep, rowstep, win, w, KH, OCP, y, OC, oc_left); break;

INLINE void forward_columns(int nb, long rw, const float *x, long xstep, long rowstep, Window win, const float *w,
                            long KH, long OCP, float *y, long OC, long oc_left) {
    if (nb == 2) {
        switch (rw) { TILE_CASES(2, FORWARD_CASE) }
    } else {
        switch (rw) { TILE_CASES(1, FORWARD_CASE) }
    }
}

/* One image's padded copy: (H + 2 ph, W + 2 pw, C) zeros around x's (H, W, C). */
static void pad_image(const float *x, long H, long W, long C, long ph, long pw, float *out) {
    const long Wp = W + 2 * pw, row = Wp * C;
    memset(out, 0, ph * row * sizeof(float));
    for (long h = 0; h < H; ++h) {
        float *o = out + (ph + h) * row;
        memset(o, 0, pw * C * sizeof(float));
        memcpy(o + pw * C, x + h * W * C, W * C * sizeof(float));
        memset(o + (pw + W) * C, 0, pw * C * sizeof(float));
    }
    memset(out + (ph + H) * row, 0, ph * row * sizeof(float));
}

/* x's image b, padded into `buffer` where there is padding (else x's own memory) */
static const float *image(const float *x, long b, long H, long W, long C, long ph, long pw, float *buffer) {
    const float *xb = x + b * H * W * C;
    if (buffer == NULL) return xb;
    pad_image(xb, H, W, C, ph, pw, buffer);
    return buffer;
}

/* A buffer for one padded image, or NULL where there is no padding (or no memory: then -1 is returned). */
static int pad_buffer(long H, long W, long C, long ph, long pw, float **buffer) {
    *buffer = NULL;
    if (ph == 0 && pw == 0) return 0;
    *buffer = malloc((size_t)(H + 2 * ph) * (W + 2 * pw) * C * sizeof(float));
    return *buffer == NULL ? -1 : 0;
}

/* The convolution of x (B, H, W, C), padded by (ph, pw), by w: y (B, OH, OW, OC). 0, or -1 out of memory. */
int NAME(nnb_conv2d_forward_f32)(const float *x, long B, long H, long W, long C, long ph, long pw, const float *w,
                                 long KH, long KW, long OCP, float *y, long OH, long OW, long OC, long sh, long sw,
                                 long dh, long dw) {
    const Window win = window_of(KW, C, dw);
    const long Wp = W + 2 * pw, xstep = sw * C, rowstep = dh * Wp * C;
    float *buffer;
    if (pad_buffer(H, W, C, ph, pw, &buffer)) return -1;
    for (long b = 0; b < B; ++b) {
        const float *xb = image(x, b, H, W, C, ph, pw, buffer);
        for (long oh = 0; oh < OH; ++oh) {
            const float *xrow = xb + oh * sh * Wp * C;
            float *yrow = y + (b * OH + oh) * OW * OC;
            for (long ob = 0; ob < OCP;) {
                int nb = OCP - ob >= 2 * LANES ? 2 : 1;
                long widest = nb == 2 ? WIDEST_2 : WIDEST_1;
                for (long ow = 0; ow < OW;) {
                    long rw = tile_width(OW - ow, widest);
                    forward_columns(nb, rw, xrow + ow * xstep, xstep, rowstep, win, w + ob, KH, OCP,
                                    yrow + ow * OC + ob, OC, OC - ob);
                    ow += rw;
                }
                ob += nb * LANES;
            }
        }
    }
    free(buffer);
    return 0;
}

/* One tile of the kernel gradient: RC consecutive window channels (of one kernel offset) by NB vectors of output
   channels, summed over the positions of output rows [oh0, oh1) of one image. */
INLINE void weight_tile(const int NB, const int RC, const float *x, long xstep, long xrow, const float *gy,
                        long oh0, long oh1, long OW, long OC, long oc_left, float *gw, long OCP) {
    vec acc[WIDEST_1][2];
    UNROLL for (int r = 0; r < RC; ++r)
        UNROLL for (int b = 0; b < NB; ++b) acc[r][b] = load(gw + r * OCP + b * LANES);
    for (long oh = oh0; oh < oh1; ++oh) {
        const float *xr = x + oh * xrow, *gr = gy + oh * OW * OC;
        for (long ow = 0; ow < OW; ++ow) {
            const float *xp = xr + ow * xstep, *gp = gr + ow * OC;
            vec g[2];
            UNROLL for (int b = 0; b < NB; ++b) {
                long left = oc_left - b * LANES;
                g[b] = left >= LANES ? load(gp + b * LANES) : left > 0 ? load_part(gp + b * LANES, left) : splat(0.0f);
            }
            UNROLL for (int r = 0; r < RC; ++r) {
                vec xv = splat(xp[r]);
                UNROLL for (int b = 0; b < NB; ++b) acc[r][b] += xv * g[b];
            }
        }
    }
    UNROLL for (int r = 0; r < RC; ++r)
        UNROLL for (int b = 0; b < NB; ++b) store(gw + r * OCP + b * LANES, acc[r][b]);
}

#define WEIGHT_CASE(NB, RC) \
    case RC: weight_tile(NB, RC, x, xstep, xrow, gy, oh0, oh1, OW, OC, oc_left, gw, OCP); break;

INLINE void weight_channels(int nb, long rc, const float *x, long xstep, long xrow, const float *gy, long oh0,
                            long oh1, long OW, long OC, long oc_left, float *gw, long OCP) {
    if (nb == 2) {
        switch (rc) { TILE_CASES(2, WEIGHT_CASE) }
    } else {
        switch (rc) { TILE_CASES(1, WEIGHT_CASE) }
    }
}

#define CHUNK_POSITIONS 512 /* output positions per pass over the kernel's tiles: their gy and x stay cached */

/* gw += the kernel gradient of x (B, H, W, C), padded by (ph, pw), and gy (B, OH, OW, OC). 0, or -1 out of
   memory. */
int NAME(nnb_conv2d_weight_grad_f32)(const float *x, long B, long H, long W, long C, long ph, long pw,
                                     const float *gy, long OH, long OW, long OC, float *gw, long KH, long KW,
                                     long OCP, long sh, long sw, long dh, long dw) {
    const Window win = window_of(KW, C, dw);
    const long Wp = W + 2 * pw, xstep = sw * C, xrow = sh * Wp * C;
    long rows = CHUNK_POSITIONS / (OW > 0 ? OW : 1);
    if (rows < 1) rows = 1;
    float *buffer;
    if (pad_buffer(H, W, C, ph, pw, &buffer)) return -1;
    for (long b = 0; b < B; ++b) {
        const float *xb = image(x, b, H, W, C, ph, pw, buffer), *gb = gy + b * OH * OW * OC;
        for (long oh0 = 0; oh0 < OH; oh0 += rows) {
            long oh1 = oh0 + rows < OH ? oh0 + rows : OH;
            for (long kh = 0; kh < KH; ++kh)
                for (long kw = 0; kw < win.offsets; ++kw) {
                    const float *xk = xb + kh * dh * Wp * C + kw * win.step;
                    float *gk = gw + (kh * win.offsets + kw) * win.channels * OCP;
                    for (long ob = 0; ob < OCP;) {
                        int nb = OCP - ob >= 2 * LANES ? 2 : 1;
                        long widest = nb == 2 ? WIDEST_2 : WIDEST_1;
                        for (long c = 0; c < win.channels;) {
                            long rc = tile_width(win.channels - c, widest);
                            weight_channels(nb, rc, xk + c, xstep, xrow, gb + ob, oh0, oh1, OW, OC, OC - ob,
                                            gk + c * OCP + ob, OCP);
                            c += rc;
                        }
                        ob += nb * LANES;
                    }
                }
        }
    }
    free(buffer);
    return 0;
}

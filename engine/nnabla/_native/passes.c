/* Native float32 passes over memory: batch normalization's over channel-last memory, x as (rows, C) with one
   statistic per channel (nnabla._ops.normalization.BatchNormalization calls them on numpy), ReLU and its
   gradient, the sum of two arrays, max pooling and global average pooling over channel-last memory.

   Compiled once per instruction set like kernels.c, with floating-point contraction off: every element is
   computed with the roundings numpy's separate operations give (x - mean, then * scale, then + shift), so the
   outputs have numpy's bits for the same statistics. The per-channel sums are running sums in float64 over the
   rows given, in order; the engine splits the rows into fixed blocks and adds the blocks' sums in order, so the
   result does not depend on how many threads took the blocks. */

#include <stddef.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define NAME(f) CAT(f, NNB_ISA)

/* sum[c] += x[r, c] - shift[c] over the rows, and sq[c] += its square (sq may be NULL); shift may be NULL (0) */
void NAME(nnb_channel_moments_f32)(const float *x, long rows, long C, const float *shift, double *sum, double *sq) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * C;
        if (shift == NULL) {
            for (long c = 0; c < C; ++c) sum[c] += (double)xr[c];
        } else if (sq == NULL) {
            for (long c = 0; c < C; ++c) sum[c] += (double)(xr[c] - shift[c]);
        } else {
            for (long c = 0; c < C; ++c) {
                double d = (double)(xr[c] - shift[c]);
                sum[c] += d;
                sq[c] += d * d;
            }
        }
    }
}

/* y[r, c] = (x[r, c] - mean[c]) * scale[c] + shift[c]; mean may be NULL (x * scale + shift); y may be x */
void NAME(nnb_channel_affine_f32)(const float *x, float *y, long rows, long C, const float *mean, const float *scale,
                                  const float *shift) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * C;
        float *yr = y + r * C;
        if (mean == NULL) {
            for (long c = 0; c < C; ++c) yr[c] = xr[c] * scale[c] + shift[c];
        } else {
            for (long c = 0; c < C; ++c) yr[c] = (xr[c] - mean[c]) * scale[c] + shift[c];
        }
    }
}

/* Batch normalization's backward sums: gsum[c] += gy, csum[c] += x - mean, dot[c] += gy * (x - mean) */
void NAME(nnb_channel_grad_moments_f32)(const float *x, const float *gy, long rows, long C, const float *mean,
                                        double *gsum, double *csum, double *dot) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * C, *gr = gy + r * C;
        for (long c = 0; c < C; ++c) {
            double d = (double)(xr[c] - mean[c]), g = (double)gr[c];
            gsum[c] += g;
            csum[c] += d;
            dot[c] += g * d;
        }
    }
}

/* gx[r, c] = (x[r, c] - mean[c]) * a[c] + gy[r, c] * k[c] + shift[c] */
void NAME(nnb_channel_grad_apply_f32)(const float *x, const float *gy, float *gx, long rows, long C,
                                      const float *mean, const float *a, const float *k, const float *shift) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * C, *gr = gy + r * C;
        float *out = gx + r * C;
        for (long c = 0; c < C; ++c) out[c] = (xr[c] - mean[c]) * a[c] + gr[c] * k[c] + shift[c];
    }
}

/* The mean over the rows of each of B matrices x (B, R, C): out (B, C). As numpy's mean over that axis: a float32
   running sum starting from the first row, divided by R in float64 and rounded to float32. */
void NAME(nnb_rows_mean_f32)(const float *x, long B, long R, long C, float *out) {
    for (long b = 0; b < B; ++b) {
        const float *xb = x + b * R * C;
        float *o = out + b * C;
        for (long c = 0; c < C; ++c) o[c] = xb[c];
        for (long r = 1; r < R; ++r)
            for (long c = 0; c < C; ++c) o[c] += xb[r * C + c];
        for (long c = 0; c < C; ++c) o[c] = (float)((double)o[c] / (double)R);
    }
}

/* ReLU: y[i] = x[i] where x[i] > 0, else +0.0 (NaN and -0.0 give +0.0: numpy's fmax(x, 0), as NNabla's ReLU) */
void NAME(nnb_relu_f32)(const float *x, float *y, long n) {
    for (long i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* out[i] = a[i] + b[i] */
void NAME(nnb_add_f32)(const float *a, const float *b, float *out, long n) {
    for (long i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

/* ReLU's gradient: out[i] = g[i] where y[i] > 0, else +0.0 (g's bits, NaN and inf too; never -0.0) */
void NAME(nnb_relu_grad_f32)(const float *y, const float *g, float *out, long n) {
    for (long i = 0; i < n; ++i) out[i] = y[i] > 0.0f ? g[i] : 0.0f;
}

/* Max pooling over windows (KH, KW) at strides (SH, SW), no padding, of x (N, H, W, C) channels last: y (N, OH,
   OW, C) and `index`, the offset (kh * KW + kw) of each window's first maximum, or KH * KW where it is NaN. The
   maximum is found in the window's order, an element replacing it only where greater (or NaN); the offset is that
   of the first element equal to it (-0.0 equals +0.0). */
void NAME(nnb_max_pool_f32)(const float *x, long N, long H, long W, long C, long KH, long KW, long SH, long SW,
                            float *y, unsigned char *index, long OH, long OW) {
    for (long n = 0; n < N; ++n)
        for (long oh = 0; oh < OH; ++oh)
            for (long ow = 0; ow < OW; ++ow) {
                const float *x0 = x + ((n * H + oh * SH) * W + ow * SW) * C;
                float *yo = y + ((n * OH + oh) * OW + ow) * C;
                unsigned char *io = index + ((n * OH + oh) * OW + ow) * C;
                for (long c = 0; c < C; ++c) yo[c] = x0[c];
                for (long kh = 0; kh < KH; ++kh)
                    for (long kw = kh == 0 ? 1 : 0; kw < KW; ++kw) {
                        const float *xk = x0 + (kh * W + kw) * C;
                        for (long c = 0; c < C; ++c) {
                            float v = xk[c], b = yo[c];
                            yo[c] = (v > b || v != v) ? v : b;
                        }
                    }
                for (long c = 0; c < C; ++c) io[c] = (unsigned char)(KH * KW);
                for (long kh = KH - 1; kh >= 0; --kh)
                    for (long kw = KW - 1; kw >= 0; --kw) {
                        const float *xk = x0 + (kh * W + kw) * C;
                        const unsigned char k = (unsigned char)(kh * KW + kw);
                        for (long c = 0; c < C; ++c) io[c] = xk[c] == yo[c] ? k : io[c];
                    }
            }
}

/* Its gradient for windows that do not overlap (strides >= kernel): gx (N, H, W, C) is gy's bits at each window's
   first maximum, +0.0 everywhere else (a window's other elements written as +0.0; with `covered` 0, the elements
   of no window are zeroed first). */
void NAME(nnb_max_pool_grad_f32)(const float *gy, const unsigned char *index, long N, long H, long W, long C,
                                 long KH, long KW, long SH, long SW, long OH, long OW, long covered, float *gx) {
    const long K = KH * KW;
    if (!covered) memset(gx, 0, (size_t)N * H * W * C * sizeof(float));
    for (long n = 0; n < N; ++n)
        for (long oh = 0; oh < OH; ++oh)
            for (long ow = 0; ow < OW; ++ow) {
                const long o = ((n * OH + oh) * OW + ow) * C;
                float *g0 = gx + ((n * H + oh * SH) * W + ow * SW) * C;
                for (long k = 0; k < K; ++k) {
                    float *gk = g0 + ((k / KW) * W + k % KW) * C;
                    for (long c = 0; c < C; ++c) gk[c] = index[o + c] == k ? gy[o + c] : 0.0f;
                }
            }
}

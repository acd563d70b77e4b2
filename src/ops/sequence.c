/*
 * sequence.c -- MXNet 1.9.1's sequence ops for variable-length batches:
 * SequenceMask, SequenceLast and SequenceReverse, and CTCLoss (ctc_loss),
 * forward and backward.
 *
 * The data has a time axis and a batch axis: (T, B, ...) with axis = 0 or
 * (B, T, ...) with axis = 1 (SequenceReverse: axis 0 only, as in MXNet).
 * With use_sequence_length the input sequence_length (B) gives each
 * sequence's length; its values may have any dtype, are truncated to
 * integers, and get a zero gradient.
 *
 * Where this engine departs from MXNet 1.9.1 (on purpose): lengths outside
 * [0, T] (and 0 for SequenceLast, which has no last element) are an error
 * naming the batch entry, where MXNet reads out of bounds.
 */
#include "../include/mx-op.h"

#include <math.h>

#define DARGS const mx_param_value *p, int nin, int nout, unsigned char *ni, \
              unsigned char *no, unsigned char *ng
#define WANT(j) (ig[j] && (req[j] == MX_REQ_WRITE || req[j] == MX_REQ_INPLACE))

enum { SQ_USE_LEN, SQ_VALUE, SQ_AXIS, SQ_NPARAMS };
static const mx_param_desc p_seq_mask[SQ_NPARAMS] = {
  [SQ_USE_LEN] = {"use_sequence_length", MX_PARAM_BOOL, 0, "False", NULL, "Whether the input sequence_length gives each sequence's length (else every sequence is full length)."},
  [SQ_VALUE] = {"value", MX_PARAM_FLOAT, 0, "0", NULL, "The value of the masked (padding) steps."},
  [SQ_AXIS] = {"axis", MX_PARAM_INT, 0, "0", NULL, "The time axis: 0 (data (T, B, ...)) or 1 (data (B, T, ...))."},
};
/* SequenceLast and SequenceReverse: the same table without 'value' */
enum { SL_USE_LEN, SL_AXIS, SL_NPARAMS };
static const mx_param_desc p_seq_last[SL_NPARAMS] = {
  [SL_USE_LEN] = {"use_sequence_length", MX_PARAM_BOOL, 0, "False", NULL, "Whether the input sequence_length gives each sequence's length (else every sequence is full length)."},
  [SL_AXIS] = {"axis", MX_PARAM_INT, 0, "0", NULL, "The time axis: 0 (data (T, B, ...)) or 1 (data (B, T, ...))."},
};
static const char *const in_seq[] = {"data", "sequence_length", NULL};

/* use_sequence_length is the first parameter of every table */
static int list_seq(const mx_param_value *p, const char **names, int max) {
  int n = p[0].i ? 2 : 1;
  for (int k = 0; k < n && k < max; k++) names[k] = in_seq[k];
  return n;
}

/* The data's time axis (0 or 1); max_axis 0 for SequenceReverse. */
static mx_status seq_axis(int64_t axis, int max_axis, int *ax) {
  if (axis < 0 || axis > max_axis)
    return mx_error(MX_ERR_ARG, max_axis ? "parameter 'axis' must be 0 or 1, not %lld"
                                         : "parameter 'axis' must be 0, not %lld", (long long)axis);
  *ax = (int)axis;
  return MX_OK;
}

/* Checks the data and the length input; returns the time axis. */
static mx_status seq_shapes(int64_t axis, int max_axis, int use, mx_shape *in, int *ax) {
  mx_status rc = seq_axis(axis, max_axis, ax);
  if (rc || in[0].ndim < 0) return rc;
  if (in[0].ndim < 2)
    return mx_error(MX_ERR_SHAPE, "input 'data' must have at least 2 dimensions (time and batch), not %d",
                    in[0].ndim);
  if (!use) return MX_OK;
  int64_t B = in[0].d[1 - *ax];
  mx_shape want;
  rc = mx_shape_make(&want, 1, &B);
  if (rc) return rc;
  if (in[1].ndim < 0) in[1] = want;
  if (!mx_shape_equal(&in[1], &want)) {
    char got[128];
    mx_shape_format(&in[1], got, sizeof got);
    return mx_error(MX_ERR_SHAPE, "input 'sequence_length' has shape %s, expected (%lld)", got, (long long)B);
  }
  return MX_OK;
}

static mx_status shape_seq_mask(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  int ax;
  mx_status rc = seq_shapes(p[SQ_AXIS].i, 1, (int)p[SQ_USE_LEN].i, in, &ax);
  if (!rc && in[0].ndim >= 0) out[0] = in[0];
  return rc;
}

static mx_status shape_seq_reverse(const mx_param_value *p, int nin, mx_shape *in, int nout,
                                   mx_shape *out) {
  (void)nin; (void)nout;
  int ax;
  mx_status rc = seq_shapes(p[SL_AXIS].i, 0, (int)p[SL_USE_LEN].i, in, &ax);
  if (!rc && in[0].ndim >= 0) out[0] = in[0];
  return rc;
}

static mx_status shape_seq_last(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)nin; (void)nout;
  int ax;
  mx_status rc = seq_shapes(p[SL_AXIS].i, 1, (int)p[SL_USE_LEN].i, in, &ax);
  if (rc || in[0].ndim < 0) return rc;
  out[0] = in[0];
  for (int k = ax; k + 1 < in[0].ndim; k++) out[0].d[k] = in[0].d[k + 1];
  out[0].ndim = in[0].ndim - 1;
  return MX_OK;
}

/* sequence_length input when used, else every type from the data */
static mx_status type_seq(const mx_param_value *p, int nin, int *in, int nout, int *out) {
  (void)p;
  int t = in[0] >= 0 ? in[0] : out[0];
  if (t < 0) return MX_OK;
  in[0] = t;
  if (nin > 1 && in[1] < 0) in[1] = t;
  for (int k = 0; k < nout; k++) out[k] = t;
  return MX_OK;
}

/* The layout: T steps, B sequences, R values per step; element (t, b, r). */
typedef struct {
  int64_t T, B, R;
  int ax;
  int64_t *len;   /* B lengths */
} seqlay;

static inline int64_t seq_at(const seqlay *l, int64_t t, int64_t b, int64_t r) {
  return (l->ax == 0 ? t * l->B + b : b * l->T + t) * l->R + r;
}

/* Reads the layout and the lengths (minimum min_len); free l->len. */
static mx_status seq_layout(int ax, int use, const mx_ndarray *data, const mx_ndarray *lens,
                            int64_t min_len, seqlay *l) {
  const mx_shape *s = &data->shape;
  l->ax = ax;
  l->T = s->d[ax];
  l->B = s->d[1 - ax];
  l->R = 1;
  for (int k = 2; k < s->ndim; k++) l->R *= s->d[k];
  l->len = (int64_t *)mx_calloc((size_t)(l->B > 0 ? l->B : 1), sizeof(int64_t));
  if (!l->len) return mx_error(MX_ERR_NOMEM, "out of memory");
  for (int64_t b = 0; b < l->B; b++) {
    double v = use ? mx_load_f64(MX_PTR(lens), lens->dtype, b) : (double)l->T;
    if (!(v >= (double)min_len && v < (double)l->T + 1)) {
      mx_free(l->len);
      l->len = NULL;
      return mx_error(MX_ERR_ARG, "sequence_length[%lld] = %g is outside [%lld, %lld]",
                      (long long)b + 1, v, (long long)min_len, (long long)l->T);
    }
    l->len[b] = (int64_t)v;
  }
  return MX_OK;
}

/* --------------------------------------------------------- SequenceMask */

/* y = x where t < len[b], else value (back: dx = dy where t < len, else 0) */
static mx_status mask_pass(const seqlay *l, const mx_ndarray *x, const mx_ndarray *y, double value) {
  MX_FLOAT_SWITCH(x->dtype, T, {
    const T *xp = (const T *)MX_PTR(x);
    T *yp = (T *)MX_PTR(y);
    int nt = mx_par_threads(l->T * l->B * l->R);
    (void)nt;
    MX_OMP_FOR(nt)
    for (int64_t tb = 0; tb < l->T * l->B; tb++) {
      int64_t t = tb / l->B, b = tb % l->B, e = seq_at(l, t, b, 0);
      int keep = t < l->len[b];
      for (int64_t r = 0; r < l->R; r++) yp[e + r] = keep ? xp[e + r] : (T)value;
    }
  });
  return MX_OK;
}



/* ------------------------------------------------------ SequenceReverse */

/* y[t] = x[len - 1 - t] for t < len, x[t] after; its own inverse, so it
 * is the gradient too. */
static mx_status reverse_pass(const seqlay *l, const mx_ndarray *x, const mx_ndarray *y) {
  size_t es = mx_dtype_size(x->dtype), row = (size_t)l->R * es;
  const char *xp = (const char *)MX_PTR(x);
  char *yp = (char *)MX_PTR(y);
  for (int64_t t = 0; t < l->T; t++)
    for (int64_t b = 0; b < l->B; b++) {
      int64_t src = t < l->len[b] ? l->len[b] - 1 - t : t;
      memcpy(yp + (size_t)seq_at(l, t, b, 0) * es, xp + (size_t)seq_at(l, src, b, 0) * es, row);
    }
  return MX_OK;
}



/* --------------------------------------------------------- SequenceLast */

/* forward: y[b] = x[len[b] - 1, b]; back: dx = 0 but dx[len[b] - 1, b] = dy[b] */
static mx_status last_pass(const seqlay *l, const mx_ndarray *x, const mx_ndarray *y, int back) {
  size_t es = mx_dtype_size(x->dtype), row = (size_t)l->R * es;
  char *xp = (char *)MX_PTR(x), *yp = (char *)MX_PTR(y);
  if (back) memset(xp, 0, (size_t)(l->T * l->B) * row);
  for (int64_t b = 0; b < l->B; b++) {
    char *xe = xp + (size_t)seq_at(l, l->len[b] - 1, b, 0) * es, *ye = yp + (size_t)b * row;
    if (back) memcpy(xe, ye, row);
    else memcpy(ye, xe, row);
  }
  return MX_OK;
}



/* ------------------------------------------------------------ kernels */

enum { SEQ_MASK, SEQ_REVERSE, SEQ_LAST, SEQ_LAST_BACK };

/* Reads the layout of data (the lengths from lens when use) and runs one
 * pass from a to b. */
static mx_status seq_run(int kind, int ax, int use, const mx_ndarray *data, const mx_ndarray *lens,
                         const mx_ndarray *a, const mx_ndarray *b, double value) {
  seqlay l;
  int last = kind == SEQ_LAST || kind == SEQ_LAST_BACK;
  mx_status rc = seq_layout(ax, use, data, use ? lens : NULL, last ? 1 : 0, &l);
  if (rc) return rc;
  if (kind == SEQ_MASK) rc = mask_pass(&l, a, b, value);
  else if (kind == SEQ_REVERSE) rc = reverse_pass(&l, a, b);
  else rc = last_pass(&l, kind == SEQ_LAST ? a : b, kind == SEQ_LAST ? b : a, kind == SEQ_LAST_BACK);
  mx_free(l.len);
  return rc;
}

/* Gradients: sequence_length gets zeros; data the pass applied to the
 * output's gradient (the mask with value 0, the same reversal, or the
 * scatter of the last steps). */
static mx_status seq_backward(BARGS, int kind, int ax, int use) {
  UNUSED_BARGS;
  mx_status rc = MX_OK;
  if (nin > 1 && WANT(1)) rc = mx_ndarray_fill(ig[1], 0);
  if (rc || !WANT(0)) return rc;
  return seq_run(kind, ax, use, ig[0], nin > 1 ? in[1] : NULL, og[0], ig[0], 0);
}

#define SQ_AX(p) ((int)(p)[SQ_AXIS].i)
#define SL_AX(p) ((int)(p)[SL_AXIS].i)

static mx_status k_seq_mask(KARGS) {
  UNUSED_KARGS;
  return seq_run(SEQ_MASK, SQ_AX(p), (int)p[SQ_USE_LEN].i, in[0], nin > 1 ? in[1] : NULL, in[0], out[0],
                 p[SQ_VALUE].f);
}
static mx_status b_seq_mask(BARGS) {
  return seq_backward(c, p, og, nout, in, nin, out, ig, req, SEQ_MASK, SQ_AX(p), (int)p[SQ_USE_LEN].i);
}
static mx_status k_seq_reverse(KARGS) {
  UNUSED_KARGS;
  return seq_run(SEQ_REVERSE, 0, (int)p[SL_USE_LEN].i, in[0], nin > 1 ? in[1] : NULL, in[0], out[0], 0);
}
static mx_status b_seq_reverse(BARGS) {
  return seq_backward(c, p, og, nout, in, nin, out, ig, req, SEQ_REVERSE, 0, (int)p[SL_USE_LEN].i);
}
static mx_status k_seq_last(KARGS) {
  UNUSED_KARGS;
  return seq_run(SEQ_LAST, SL_AX(p), (int)p[SL_USE_LEN].i, in[0], nin > 1 ? in[1] : NULL, in[0], out[0], 0);
}
static mx_status b_seq_last(BARGS) {
  return seq_backward(c, p, og, nout, in, nin, out, ig, req, SEQ_LAST_BACK, SL_AX(p), (int)p[SL_USE_LEN].i);
}

/* the lengths and the output's gradient */
static void deps_seq(DARGS) {
  (void)p;
  for (int j = 0; j < nin; j++) ni[j] = j == 1;
  for (int k = 0; k < nout; k++) { no[k] = 0; ng[k] = 1; }
}

/* ============================================================ CTCLoss
 * Connectionist temporal classification loss of data (T, N, alphabet)
 * (activations: a softmax over the alphabet is applied inside) against
 * label (N, L): loss[n] = -log p(label | data), by the forward-backward
 * recursions in log space.  blank_label first: blank 0, labels padded with
 * 0; last: blank alphabet - 1, labels padded with -1.  The data's gradient
 * is softmax - the posterior of each symbol, times the loss's gradient, and
 * zero past a sequence's data length. */

enum { CTC_USE_DATA_LEN, CTC_USE_LABEL_LEN, CTC_BLANK, CTC_NPARAMS };
static const mx_param_desc p_ctc[CTC_NPARAMS] = {
  [CTC_USE_DATA_LEN] = {"use_data_lengths", MX_PARAM_BOOL, 0, "False", NULL, "Whether the input data_lengths gives each sequence's length (else T)."},
  [CTC_USE_LABEL_LEN] = {"use_label_lengths", MX_PARAM_BOOL, 0, "False", NULL, "Whether the input label_lengths gives each label's length (else up to the first padding value)."},
  [CTC_BLANK] = {"blank_label", MX_PARAM_ENUM, 0, "first", "first|last", "first: symbol 0 is the blank and labels are padded with 0; last: symbol alphabet_size - 1 is the blank and labels are padded with -1."},
};
static const char *const in_ctc[] = {"data", "label", "data_lengths", "label_lengths", NULL};

static int list_ctc(const mx_param_value *p, const char **names, int max) {
  int n = 0;
  for (int k = 0; k < 4; k++)
    if ((k < 2 || (k == 2 && p[CTC_USE_DATA_LEN].i) || (k == 3 && p[CTC_USE_LABEL_LEN].i)) && n < max)
      names[n++] = in_ctc[k];
  return n;
}

/* the name of CTCLoss's input j for these params */
static const char *list_ctc_name(const mx_param_value *p, int j) {
  const char *names[4];
  int n = list_ctc(p, names, 4);
  return j < n ? names[j] : "?";
}

static mx_status shape_ctc(const mx_param_value *p, int nin, mx_shape *in, int nout, mx_shape *out) {
  (void)p; (void)nout;
  if (in[0].ndim < 0) return MX_OK;
  if (in[0].ndim != 3)
    return mx_error(MX_ERR_SHAPE, "input 'data' must be 3-d (sequence length, batch, alphabet), not %d-d",
                    in[0].ndim);
  int64_t N = in[0].d[1];
  if (in[1].ndim >= 0 && (in[1].ndim != 2 || in[1].d[0] != N))
    return mx_error(MX_ERR_SHAPE, "input 'label' must be (batch, label length) with the data's batch size");
  mx_shape ns;
  mx_status rc = mx_shape_make(&ns, 1, &N);
  for (int j = 2; j < nin && !rc; j++) {
    if (in[j].ndim < 0) in[j] = ns;
    if (!mx_shape_equal(&in[j], &ns))
      rc = mx_error(MX_ERR_SHAPE, "input '%s' must have one value per sequence", list_ctc_name(p, j));
  }
  if (!rc) out[0] = ns;
  return rc;
}

/* The lengths and labels of sequence n; returns the label length or an
 * error.  lab receives L symbols. */
static mx_status ctc_label(const mx_param_value *p, mx_ndarray *const *in, int nin, int64_t n, int64_t A,
                           int64_t *T_n, int64_t *lab, int64_t *L_n) {
  const mx_ndarray *label = in[1];
  int64_t T = in[0]->shape.d[0], L = label->shape.d[1];
  int use_d = (int)p[CTC_USE_DATA_LEN].i, use_l = (int)p[CTC_USE_LABEL_LEN].i;
  int64_t blank = p[CTC_BLANK].i ? A - 1 : 0, pad = p[CTC_BLANK].i ? -1 : 0;
  double tv = use_d ? mx_load_f64(MX_PTR(in[2]), in[2]->dtype, n) : (double)T;
  if (!(tv >= 0 && tv <= (double)T))
    return mx_error(MX_ERR_ARG, "data_lengths[%lld] = %g is outside [0, %lld]", (long long)n + 1, tv, (long long)T);
  *T_n = (int64_t)tv;
  int64_t len = L;
  if (use_l) {
    double lv = mx_load_f64(MX_PTR(in[2 + use_d]), in[2 + use_d]->dtype, n);
    if (!(lv >= 0 && lv <= (double)L))
      return mx_error(MX_ERR_ARG, "label_lengths[%lld] = %g is outside [0, %lld]", (long long)n + 1, lv, (long long)L);
    len = (int64_t)lv;
  }
  (void)nin;
  *L_n = 0;
  for (int64_t k = 0; k < len; k++) {
    double v = mx_load_f64(MX_PTR(label), label->dtype, n * L + k);
    if (!use_l && v == (double)pad) break;
    if (!(v >= 0 && v < (double)A) || (int64_t)v == blank)
      return mx_error(MX_ERR_ARG, "label[%lld, %lld] = %g is not a symbol of the alphabet (0 to %lld without the blank %lld)",
                      (long long)n + 1, (long long)k + 1, v, (long long)A - 1, (long long)blank);
    lab[(*L_n)++] = (int64_t)v;
  }
  return MX_OK;
}

static inline double lse2(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* Loss of one sequence from its log-probabilities lp (Tn x A, row t at
 * lp + t A); grad (Tn x A, the same layout) gets d loss / d activations
 * when not NULL.  work: 2 Tn S doubles. */
static double ctc_one(const double *lp, int64_t Tn, int64_t A, const int64_t *lab, int64_t Ln,
                      int64_t blank, double *work, double *grad) {
  int64_t S = 2 * Ln + 1;
  double *al = work, *be = work + Tn * S;
  if (Tn == 0) return Ln == 0 ? 0 : INFINITY;
#define EXT(s) ((s) % 2 ? lab[(s) / 2] : blank)
#define SKIP(s) ((s) >= 2 && (s) % 2 && lab[(s) / 2] != lab[(s) / 2 - 1])
  for (int64_t t = 0; t < Tn; t++)
    for (int64_t s = 0; s < S; s++) {
      double a;
      if (t == 0) a = s < 2 ? 0 : -INFINITY;
      else {
        a = al[(t - 1) * S + s];
        if (s >= 1) a = lse2(a, al[(t - 1) * S + s - 1]);
        if (SKIP(s)) a = lse2(a, al[(t - 1) * S + s - 2]);
      }
      al[t * S + s] = a == -INFINITY ? a : a + lp[t * A + EXT(s)];
    }
  for (int64_t t = Tn - 1; t >= 0; t--)
    for (int64_t s = S - 1; s >= 0; s--) {
      double b;
      if (t == Tn - 1) b = s >= S - 2 ? 0 : -INFINITY;
      else {
        b = be[(t + 1) * S + s];
        if (s + 1 < S) b = lse2(b, be[(t + 1) * S + s + 1]);
        if (s + 2 < S && SKIP(s + 2)) b = lse2(b, be[(t + 1) * S + s + 2]);
      }
      be[t * S + s] = b == -INFINITY ? b : b + lp[t * A + EXT(s)];
    }
  double lp_all = lse2(al[(Tn - 1) * S + S - 1], S > 1 ? al[(Tn - 1) * S + S - 2] : -INFINITY);
  if (grad) {
    for (int64_t t = 0; t < Tn; t++) {
      for (int64_t k = 0; k < A; k++) grad[t * A + k] = exp(lp[t * A + k]);
      if (lp_all == -INFINITY) continue;
      for (int64_t s = 0; s < S; s++) {
        double g = al[t * S + s] + be[t * S + s] - lp[t * A + EXT(s)];
        if (g != -INFINITY) grad[t * A + EXT(s)] -= exp(g - lp_all);
      }
    }
    if (lp_all == -INFINITY) memset(grad, 0, (size_t)(Tn * A) * sizeof(double));
  }
#undef EXT
#undef SKIP
  return -lp_all;
}

/* Loss (loss != NULL) or the data's gradient times dloss (dx != NULL). */
static mx_status ctc_run(const mx_param_value *p, mx_ndarray *const *in, int nin, const mx_ndarray *loss,
                         const mx_ndarray *dloss, const mx_ndarray *dx) {
  const int64_t *d = in[0]->shape.d;
  int64_t T = d[0], N = d[1], A = d[2], L = in[1]->shape.d[1];
  int64_t S = 2 * L + 1;
  double *lp = (double *)mx_calloc((size_t)(T * A * 2 + 2 * T * S + 1), sizeof(double));
  int64_t *lab = (int64_t *)mx_calloc((size_t)(L + 1), sizeof(int64_t));
  mx_status rc = lp && lab ? MX_OK : mx_error(MX_ERR_NOMEM, "out of memory");
  double *gr = lp ? lp + T * A : NULL, *work = lp ? lp + 2 * T * A : NULL;
  if (!rc && dx) rc = mx_ndarray_fill((mx_ndarray *)dx, 0);
  for (int64_t n = 0; n < N && !rc; n++) {
    int64_t Tn = 0, Ln = 0;
    rc = ctc_label(p, in, nin, n, A, &Tn, lab, &Ln);
    if (rc) break;
    for (int64_t t = 0; t < Tn; t++) {          /* log softmax of row (t, n) */
      double mx = -INFINITY, s = 0;
      for (int64_t k = 0; k < A; k++) {
        double v = mx_load_f64(MX_PTR(in[0]), in[0]->dtype, (t * N + n) * A + k);
        lp[t * A + k] = v;
        if (v > mx) mx = v;
      }
      for (int64_t k = 0; k < A; k++) s += exp(lp[t * A + k] - mx);
      for (int64_t k = 0; k < A; k++) lp[t * A + k] -= mx + log(s);
    }
    double l = ctc_one(lp, Tn, A, lab, Ln, p[CTC_BLANK].i ? A - 1 : 0, work, dx ? gr : NULL);
    if (loss) mx_store_f64(MX_PTR(loss), loss->dtype, n, l);
    if (!dx) continue;
    double g = mx_load_f64(MX_PTR(dloss), dloss->dtype, n);
    for (int64_t t = 0; t < Tn; t++)
      for (int64_t k = 0; k < A; k++)
        mx_store_f64(MX_PTR(dx), dx->dtype, (t * N + n) * A + k, l == INFINITY ? 0 : g * gr[t * A + k]);
  }
  mx_free(lp);
  mx_free(lab);
  return rc;
}

static mx_status k_ctc(KARGS) {
  UNUSED_KARGS;
  return ctc_run(p, in, nin, out[0], NULL, NULL);
}

/* the data's gradient; labels and lengths get zeros */
static mx_status b_ctc(BARGS) {
  UNUSED_BARGS;
  mx_status rc = MX_OK;
  for (int j = 1; j < nin && !rc; j++)
    if (WANT(j)) rc = mx_ndarray_fill(ig[j], 0);
  if (!rc && WANT(0)) rc = ctc_run(p, in, nin, NULL, og[0], ig[0]);
  return rc;
}

const mx_op mx_ops_sequence[] = {
  {.name = "SequenceMask",
   .doc = "Set the steps of every sequence past its length (from the input sequence_length) to value; data is (T, B, ...) with axis 0 or (B, T, ...) with axis 1.",
   .num_inputs = 2, .input_names = in_seq, .num_outputs = 1, .params = p_seq_mask,
   .num_params = MX_NPARAMS(p_seq_mask), .infer_shape = shape_seq_mask, .infer_type = type_seq,
   .cpu = k_seq_mask, .backward = b_seq_mask, .backward_deps = deps_seq, .list_inputs = list_seq},
  {.name = "SequenceLast",
   .doc = "The last step of every sequence (at its length from the input sequence_length, else the last); data is (T, B, ...) with axis 0 or (B, T, ...) with axis 1, the output (B, ...).",
   .num_inputs = 2, .input_names = in_seq, .num_outputs = 1, .params = p_seq_last,
   .num_params = MX_NPARAMS(p_seq_last), .infer_shape = shape_seq_last, .infer_type = type_seq,
   .cpu = k_seq_last, .backward = b_seq_last, .flags = MX_OPF_F16, .backward_deps = deps_seq,
   .list_inputs = list_seq},
  {.name = "SequenceReverse",
   .doc = "Reverse the first length steps of every sequence of (T, B, ...) data (lengths from the input sequence_length, else all T steps); later steps stay in place.",
   .num_inputs = 2, .input_names = in_seq, .num_outputs = 1, .params = p_seq_last,
   .num_params = MX_NPARAMS(p_seq_last), .infer_shape = shape_seq_reverse, .infer_type = type_seq,
   .cpu = k_seq_reverse, .backward = b_seq_reverse, .flags = MX_OPF_F16,
   .backward_deps = deps_seq, .list_inputs = list_seq},
  {.name = "CTCLoss", .aliases = {"ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"},
   .doc = "Connectionist temporal classification loss of activations data (sequence length, batch, alphabet) against padded labels (batch, label length): one loss per sequence, -log p(label | softmax(data)).",
   .num_inputs = 4, .input_names = in_ctc, .num_outputs = 1, .params = p_ctc,
   .num_params = MX_NPARAMS(p_ctc), .infer_shape = shape_ctc, .infer_type = type_seq, .cpu = k_ctc,
   .backward = b_ctc, .backward_deps = mx_deps_in_out_grads, .list_inputs = list_ctc},
  {.name = NULL},
};

// Data-movement drivers (movement.h). A strided copy is planned once per call: size-1 axes fold into a base
// offset, in-range neighbours that are contiguous in the input merge, and the innermost axes become a row
// template of runs (fill, memcpy or strided reads); every output row is then that template at its base offset.
#include "movement.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "thread_pool.h"

namespace nodegrad {

namespace {

using i64 = std::int64_t;

constexpr std::size_t kTaskElems = 32768;  // words per task at least: smaller copies run without a fork
constexpr i64 kRowMin = 256;               // a row template shorter than this takes in the next axis ...
constexpr std::size_t kMaxRuns = 4096;     // ... unless the template would then hold more runs than this
constexpr i64 kTile = 16;                  // rows (and columns) of a transposing tile: 16 source lines stay in L1
// Source offset of a position that reads the fill value: a sum with NG_MAX_STRIDED_RANK of them stays negative.
constexpr i64 kFill = -(i64{1} << 58);

// One output axis: coordinate c reads position offset + c * step of an input axis of length dim.
struct Axis {
  i64 n, offset, step, dim, stride;
};

i64 SourceOf(const Axis& a, i64 c, int mode) {
  const i64 p = MapCoord(a.offset + c * a.step, a.dim, mode);
  return p < 0 ? kFill : p * a.stride;
}

// Reads positions 0..n-1 of itself with stride `stride`: nothing to map, so neighbours can merge.
bool IsPlain(const Axis& a) { return a.offset == 0 && a.step == 1 && a.dim == a.n; }

// len output words reading src + j * stride, or the fill value when src < 0.
struct Run {
  i64 len, src, stride;
};

// Appends r to runs, extending the last run when r continues it.
void Append(std::vector<Run>* runs, const Run& r) {
  if (!runs->empty()) {
    Run& b = runs->back();
    if (b.src < 0 && r.src < 0) {
      b.len += r.len;
      return;
    }
    const i64 step = b.len == 1 ? r.src - b.src : b.stride;
    if (b.src >= 0 && r.src >= 0 && r.src == b.src + b.len * step && (r.len == 1 || r.stride == step)) {
      b.stride = step;
      b.len += r.len;
      return;
    }
  }
  runs->push_back(r);
}

// The runs of one axis: the positions below the input, inside it and past it, each affine in c.
void AxisRuns(const Axis& a, int mode, std::vector<Run>* runs) {
  auto first_reaching = [&](i64 v) {  // the first c with offset + c * step >= v, in [0, n]
    const i64 d = v - a.offset;
    return d <= 0 ? i64{0} : std::min(a.n, (d + a.step - 1) / a.step);
  };
  const i64 c1 = first_reaching(0), c2 = std::max(c1, first_reaching(a.dim));
  const i64 bounds[4] = {0, c1, c2, a.n};
  for (int k = 0; k < 3; ++k) {
    const i64 lo = bounds[k], len = bounds[k + 1] - lo;
    if (len <= 0) continue;
    const i64 s0 = SourceOf(a, lo, mode);
    Append(runs, {len, s0, len > 1 && s0 >= 0 ? SourceOf(a, lo + 1, mode) - s0 : 1});
  }
}

// n words from src at stride `stride` (memcpy for long contiguous runs).
void CopyWords(std::uint32_t* out, const std::uint32_t* src, i64 n, i64 stride) {
  if (stride == 1 && n >= 16) {
    std::memcpy(out, src, static_cast<std::size_t>(n) * sizeof(std::uint32_t));
    return;
  }
  for (i64 j = 0; j < n; ++j) out[j] = src[j * stride];
}

// The copy after planning: rows of `len` words over the outer axes, each the row template at the row's base.
struct Copy {
  const std::uint32_t* x;
  std::uint32_t* out;
  int mode;
  std::uint32_t fill;
  i64 base0;          // source offset common to every element (size-1 axes, in-range offsets)
  const Axis* outer;  // the axes outside the row, outermost first
  int nouter;
  std::vector<Run> row;
  i64 len;
  bool tile;          // one strided run per row and a plain unit-stride axis just outside: transpose in tiles

  // Words [j0, j1) of the row that starts at o and reads from base.
  void Row(std::uint32_t* o, i64 base, i64 j0, i64 j1) const {
    if (base < 0) {
      std::fill(o + j0, o + j1, fill);
      return;
    }
    i64 j = 0;
    for (const Run& r : row) {
      const i64 a = std::max(j, j0), b = std::min(j + r.len, j1);
      if (a < b) {
        if (r.src < 0) std::fill(o + a, o + b, fill);
        else CopyWords(o + a, x + base + r.src + (a - j) * r.stride, b - a, r.stride);
      }
      j += r.len;
      if (j >= j1) break;
    }
  }

  // g whole rows whose bases are base, base + 1, ...: column blocks of kTile, so the source lines are reused from L1.
  void Tile(std::uint32_t* o, i64 base, i64 g) const {
    const Run& r = row[0];
    for (i64 j0 = 0; j0 < len; j0 += kTile) {
      const i64 j1 = std::min(len, j0 + kTile);
      for (i64 b = 0; b < g; ++b) {
        const std::uint32_t* s = x + base + b + r.src;
        std::uint32_t* d = o + b * len;
        for (i64 j = j0; j < j1; ++j) d[j] = s[j * r.stride];
      }
    }
  }

  // Output words [i0, i1): an odometer over the outer axes keeps each axis' source offset.
  void Range(i64 i0, i64 i1) const {
    i64 c[NG_MAX_STRIDED_RANK], src[NG_MAX_STRIDED_RANK];
    i64 r = i0 / len, j = i0 - r * len, rem = r, base = base0;
    for (int a = nouter - 1; a >= 0; --a) {
      c[a] = rem % outer[a].n;
      rem /= outer[a].n;
      src[a] = SourceOf(outer[a], c[a], mode);
      base += src[a];
    }
    const int last = nouter - 1;
    for (i64 i = i0; i < i1; j = 0) {
      i64 g = 1;
      if (tile && j == 0 && base >= 0) g = std::min({kTile, outer[last].n - c[last], (i1 - i) / len});
      if (g > 1) {
        Tile(out + i, base, g);
        i += g * len;
      } else {
        const i64 j1 = std::min(len, j + (i1 - i));
        Row(out + r * len, base, j, j1);
        i += j1 - j;
      }
      r += g;
      for (i64 k = 0; k < g; ++k) {
        for (int a = last; a >= 0; --a) {
          const i64 before = src[a];
          c[a] = c[a] + 1 < outer[a].n ? c[a] + 1 : 0;
          src[a] = SourceOf(outer[a], c[a], mode);
          base += src[a] - before;
          if (c[a] != 0) break;
        }
      }
    }
  }
};

}  // namespace

i64 MapCoord(i64 p, i64 dim, int mode) {
  if (p >= 0 && p < dim) return p;
  if (mode == NG_COPY_REFLECT) p = p < 0 ? -p : 2 * (dim - 1) - p;
  else if (mode == NG_COPY_SYMMETRIC) p = p < 0 ? -p - 1 : 2 * dim - 1 - p;
  else return -1;
  return p >= 0 && p < dim ? p : -1;
}

void StridedCopy32(const std::uint32_t* x, std::uint32_t* out, const ng_copy_plan& plan, int mode, std::uint32_t fill) {
  i64 total = 1;
  for (int a = 0; a < plan.rank; ++a) total *= plan.out_shape[a];
  if (total == 0) return;
  Axis axes[NG_MAX_STRIDED_RANK];
  int rank = 0;
  i64 base = 0;
  for (int a = 0; a < plan.rank; ++a) {
    Axis ax{plan.out_shape[a], plan.offset[a], plan.step[a], plan.in_dim[a], plan.in_stride[a]};
    if (ax.n == 1) {
      base += SourceOf(ax, 0, mode);
      continue;
    }
    if (ax.offset >= 0 && ax.offset + (ax.n - 1) * ax.step < ax.dim) {
      base += ax.offset * ax.stride;
      ax = Axis{ax.n, 0, 1, ax.n, ax.step * ax.stride};
    }
    Axis* prev = rank > 0 ? &axes[rank - 1] : nullptr;
    if (prev && IsPlain(*prev) && IsPlain(ax) && prev->stride == ax.n * ax.stride) {
      prev->n *= ax.n;
      prev->dim = prev->n;
      prev->stride = ax.stride;
    } else {
      axes[rank++] = ax;
    }
  }
  if (base < 0) {
    std::fill(out, out + total, fill);
    return;
  }
  if (rank == 0) {
    out[0] = x[base];
    return;
  }
  Copy cp{x, out, mode, fill, base, axes, rank - 1, {}, axes[rank - 1].n, false};
  AxisRuns(axes[rank - 1], mode, &cp.row);
  // A row that is one strided read over an axis whose source is contiguous one level out transposes in tiles.
  auto tiles = [&](const Axis& a) {
    return cp.row.size() == 1 && cp.row[0].src >= 0 && cp.row[0].stride != 1 && IsPlain(a) && a.stride == 1;
  };
  // Other short rows take in outer axes while their runs stay few: a padded [.., W, 3] image copies whole rows.
  while (cp.nouter > 0 && cp.len < kRowMin && !tiles(axes[cp.nouter - 1])) {
    const Axis& a = axes[cp.nouter - 1];
    if (static_cast<std::size_t>(a.n) * cp.row.size() > kMaxRuns) break;
    std::vector<Run> runs, merged;
    AxisRuns(a, mode, &runs);
    for (const Run& o : runs) {
      for (i64 j = 0; j < o.len; ++j) {
        const i64 b = o.src < 0 ? kFill : o.src + j * o.stride;
        for (const Run& r : cp.row) Append(&merged, {r.len, b < 0 || r.src < 0 ? kFill : b + r.src, r.stride});
      }
    }
    cp.row.swap(merged);
    cp.len *= a.n;
    --cp.nouter;
  }
  cp.tile = cp.nouter > 0 && tiles(axes[cp.nouter - 1]);
  ForRanges(static_cast<std::size_t>(total), kTaskElems,
            [&](std::size_t i0, std::size_t i1) { cp.Range(static_cast<i64>(i0), static_cast<i64>(i1)); });
}

void ConcatCopy32(const std::uint32_t* x, std::uint32_t* out, std::size_t outer, std::size_t chunk,
                  std::size_t out_row, std::size_t offset) {
  if (chunk == 0) return;
  ForRanges(outer * chunk, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1;) {
      const std::size_t o = i / chunk, k = i - o * chunk, n = std::min(chunk - k, i1 - i);
      CopyWords(out + o * out_row + offset + k, x + i, static_cast<i64>(n), 1);
      i += n;
    }
  });
}

void Gather32(const std::uint32_t* x, const std::int32_t* idx, std::uint32_t* out, std::size_t outer,
              std::size_t dim, std::size_t nidx, std::size_t inner) {
  if (inner == 0) return;
  ForRanges(outer * nidx * inner, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1;) {
      const std::size_t r = i / inner, k = i - r * inner, n = std::min(inner - k, i1 - i);
      const std::size_t o = r / nidx, j = r - o * nidx;
      CopyWords(out + i, x + (o * dim + static_cast<std::size_t>(idx[j])) * inner + k, static_cast<i64>(n), 1);
      i += n;
    }
  });
}

void OneHotF32(const std::int32_t* idx, float* out, std::size_t n, std::size_t depth, float on, float off) {
  if (depth == 0) return;
  ForRanges(n * depth, kTaskElems, [&](std::size_t i0, std::size_t i1) {
    std::fill(out + i0, out + i1, off);
    for (std::size_t r = i0 / depth; r * depth < i1; ++r) {
      const std::size_t at = r * depth + static_cast<std::size_t>(idx[r]);
      if (idx[r] >= 0 && static_cast<std::size_t>(idx[r]) < depth && at >= i0 && at < i1) out[at] = on;
    }
  });
}

}  // namespace nodegrad

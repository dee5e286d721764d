/* ----------------------------------------------------------------------
   areanet: the sheet test of areanet_layers.h
------------------------------------------------------------------------- */

#include "areanet_layers.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace areanet {

/* ----------------------------------------------------------------------
   per centre: its 3 nearest other-species neighbours give the plane
------------------------------------------------------------------------- */

// the k nearest edges of [begin, end) with (edge_spec == species) == same, nearest first
template <int K>
static int nearest(int64_t begin, int64_t end, const double *edge_vec, const int64_t *edge_spec,
                   int64_t species, bool same, int64_t *out)
{
  double outsq[K];
  int found = 0;
  for (int64_t e = begin; e < end; e++) {
    if ((edge_spec[e] == species) != same) continue;
    const double *r = edge_vec + 3 * e;
    double rsq = r[0] * r[0] + r[1] * r[1] + r[2] * r[2];
    int64_t idx = e;
    for (int k = 0; k < K; k++) {
      if (k == found) {
        out[k] = idx;
        outsq[k] = rsq;
        found++;
        break;
      }
      if (rsq < outsq[k]) {
        std::swap(rsq, outsq[k]);
        std::swap(idx, out[k]);
      }
    }
  }
  return found;
}

void first_shell_planes(int64_t ncentres, int64_t nedges, const double *edge_vec,
                        const int64_t *edge_src, const int64_t *edge_spec, const int64_t *spec,
                        double *normal, double *plane, double *flat)
{
  for (int64_t c = 0; c < ncentres; c++) {
    normal[3 * c] = normal[3 * c + 1] = normal[3 * c + 2] = 0.0;
    plane[c] = flat[c] = HUGE_VAL;
  }
  int64_t begin = 0;
  while (begin < nedges) {
    const int64_t c = edge_src[begin];
    int64_t end = begin;
    while (end < nedges && edge_src[end] == c) end++;
    int64_t first[3], second[6];
    if (c >= 0 && c < ncentres &&
        nearest<3>(begin, end, edge_vec, edge_spec, spec[c], false, first) == 3) {
      const double *a = edge_vec + 3 * first[0];
      const double *b = edge_vec + 3 * first[1];
      const double *d = edge_vec + 3 * first[2];
      double n[3];
      for (int k = 0; k < 3; k++) {
        const int k1 = (k + 1) % 3, k2 = (k + 2) % 3;
        n[k] = (a[k1] * b[k2] - a[k2] * b[k1]) + (b[k1] * d[k2] - b[k2] * d[k1]) +
            (d[k1] * a[k2] - d[k2] * a[k1]);
      }
      const double norm = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
      if (norm > 0.0) {
        for (int k = 0; k < 3; k++) normal[3 * c + k] = n[k] / norm;
        const double *u = normal + 3 * c;
        const double p = a[0] * u[0] + a[1] * u[1] + a[2] * u[2];
        plane[c] = p;
        // flatness: the centre and its second shell (6 nearest of its species) from the plane
        double worst = std::fabs(p);
        const int n2 = nearest<6>(begin, end, edge_vec, edge_spec, spec[c], true, second);
        if (n2 < 6) worst = HUGE_VAL;
        for (int k = 0; k < n2; k++) {
          const double *r = edge_vec + 3 * second[k];
          worst = std::max(worst, std::fabs(r[0] * u[0] + r[1] * u[1] + r[2] * u[2] - p));
        }
        flat[c] = worst;
      }
    }
    begin = end;
  }
}

/* ---------------------------------------------------------------------- */

int64_t find_off_plane_edge(int64_t nedges, const double *edge_vec, const int64_t *edge_src,
                            const int *edge_atom, const double *normal, const double *plane,
                            const double *flat, const double *atom_plane, double height,
                            double &off)
{
  off = 0.0;
  const double in_sheet = 0.5 * height;
  for (int64_t e = 0; e < nedges; e++) {
    const int64_t c = edge_src[e];
    if (!(flat[c] <= in_sheet)) continue;                // the centre is not in a flat sheet
    const double *q = atom_plane + 5 * (int64_t) edge_atom[e];
    if (!(q[4] <= in_sheet)) continue;                   // nor is the neighbour
    const double *n = normal + 3 * c;
    const double *r = edge_vec + 3 * e;
    const double h = std::fabs(r[0] * n[0] + r[1] * n[1] + r[2] * n[2] - plane[c]);
    const double back = std::fabs(-(r[0] * q[0] + r[1] * q[1] + r[2] * q[2]) - q[3]);
    const double parallel = std::fabs(n[0] * q[0] + n[1] * q[1] + n[2] * q[2]);
    if (h > height && back > height && parallel >= PARALLEL_PLANES_COS) {
      off = h;
      return e;
    }
  }
  return -1;
}

}    // namespace areanet

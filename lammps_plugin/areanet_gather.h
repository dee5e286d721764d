/* ----------------------------------------------------------------------
   areanet: gather every rank's values on rank 0 (counts differ by rank),
   shared by the committee's atomic deviations and the domain guard's IDs.
------------------------------------------------------------------------- */

#ifndef LMP_AREANET_GATHER_H
#define LMP_AREANET_GATHER_H

#include <mpi.h>
#include <vector>

namespace areanet {

// All ranks' `mine` concatenated in rank order on rank 0; empty elsewhere.
template <typename T>
std::vector<T> gather_to_root(const std::vector<T> &mine, MPI_Datatype type, int me, int nprocs,
                              MPI_Comm world)
{
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(nprocs), displs(nprocs);
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, world);
  int total = 0;
  for (int p = 0; me == 0 && p < nprocs; p++) {
    displs[p] = total;
    total += counts[p];
  }
  std::vector<T> all(me == 0 ? total : 0);
  MPI_Gatherv(mine.data(), count, type, all.data(), counts.data(), displs.data(), type, 0, world);
  return all;
}

}    // namespace areanet

#endif

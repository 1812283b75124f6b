#ifndef EDGENAS_COPENBLAS_SHIM_H
#define EDGENAS_COPENBLAS_SHIM_H
// Debian's libopenblas-dev installs cblas.h under the multiarch include dir.
#include <cblas.h>

// OpenBLAS extensions (declared in its cblas.h too; repeated here so the shim
// documents everything the engine relies on).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

// Fortran LAPACK symbols exported by libopenblas (Debian builds it without
// LAPACKE). Column-major; every argument by pointer; CHARACTER arguments carry
// a hidden length after the others.
void sgelsd_(const int *m, const int *n, const int *nrhs, float *a, const int *lda,
             float *b, const int *ldb, float *s, const float *rcond, int *rank,
             float *work, const int *lwork, int *iwork, int *info);
void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda,
             double *b, const int *ldb, double *s, const double *rcond, int *rank,
             double *work, const int *lwork, int *iwork, int *info);
#endif

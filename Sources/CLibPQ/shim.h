#ifndef EDGENAS_CLIBPQ_SHIM_H
#define EDGENAS_CLIBPQ_SHIM_H
// PostgreSQL's own C client, from Debian's libpq-dev (headers under /usr/include/postgresql).
#include <postgresql/libpq-fe.h>
#endif

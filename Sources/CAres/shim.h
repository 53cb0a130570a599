#ifndef JAMDNS_CARES_SHIM_H
#define JAMDNS_CARES_SHIM_H
#include <ares.h>
#endif

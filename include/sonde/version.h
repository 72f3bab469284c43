/* sonde/version.h - the version macros live in common.h; kept for the
 * layout the design names. */
#ifndef SONDE_VERSION_H
#define SONDE_VERSION_H
#include "common.h"
#endif

/* posthorn/posthorn.h - everything a plugin needs, in one include. */
#ifndef POSTHORN_POSTHORN_H
#define POSTHORN_POSTHORN_H

#include "abi.h"
#include "plugin.h"
#include "core.h"
#include "protocol.h"
#include "storage.h"
#include "auth.h"

#endif /* POSTHORN_POSTHORN_H */

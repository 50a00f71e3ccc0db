/* Error codes and their descriptions. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

const char *ledger_strerror(ledger_err err)
{
	switch (err) {            /* no default: -Wswitch flags a new code */
	case LEDGER_OK:        return "success";
	case LEDGER_EINPUT:    return "input refused";
	case LEDGER_EUSAGE:    return "bad usage";
	case LEDGER_ENOTFOUND: return "not found";
	case LEDGER_EEXIST:    return "already exists";
	case LEDGER_ECONFLICT: return "expected version does not match";
	case LEDGER_ECORRUPT:  return "check failed";
	case LEDGER_EVERSION:  return "format or index version differs";
	case LEDGER_EFORK:     return "refused to sign a fork";
	case LEDGER_EKEY:      return "signing key problem";
	case LEDGER_ESTORE:    return "storage error";
	case LEDGER_EIO:       return "input/output error";
	case LEDGER_ENOMEM:    return "out of memory";
	}
	return "unknown error";
}

ledger_err err_set(errbuf *e, ledger_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

void err_clear(errbuf *e)
{
	e->msg[0] = '\0';
	e->map_full = false;
}

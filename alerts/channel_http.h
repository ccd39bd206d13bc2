/*
 * channel_http: one JSON POST through the shared curl multi (curlmux),
 * classified the way every HTTP channel wants it:
 *   2xx                        delivered
 *   429, 5xx, 408, no answer   retry (Retry-After honoured, RFC 9110
 *                              section 10.2.3, seconds or HTTP-date)
 *   any other status           rejected, with the body's first line
 * The handle owns the easy handle, headers, body and answer; it frees
 * itself after its callback.
 */
#ifndef SONDE_CHANNEL_HTTP_H
#define SONDE_CHANNEL_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "channel.h"

struct loop;

/*
 * POSTs body (copied) to url with the NULL-terminated extra headers
 * (copied; "Authorization: GenieKey ..." may be one: never logged).
 * Returns the handle for channel_http_cancel(), or NULL with the reason
 * in err.
 */
void	*channel_http_post(struct loop *loop, const char *url,
	    const char *const *headers, const char *body, int64_t timeout_ms,
	    channel_done_cb cb, void *arg, char *err, size_t errlen);
/* Stops the POST; its callback will not run. */
void	 channel_http_cancel(void *handle);

#endif /* SONDE_CHANNEL_HTTP_H */

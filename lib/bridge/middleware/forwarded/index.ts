// X-Forwarded-For/-Proto/-Host, asserted by the bridge from what IIS knows first-hand
// (REMOTE_ADDR, HTTPS, Host). Client-sent copies were dropped by the header policy, so
// X-Forwarded-For holds exactly one address: the peer IIS saw.
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';

export function forwarded(): HookedMiddleware {
  return hooked({
    name: 'forwarded',
    request(environ) {
      if (environ.REMOTE_ADDR !== '') environ.HTTP_X_FORWARDED_FOR = environ.REMOTE_ADDR;
      environ.HTTP_X_FORWARDED_PROTO = environ['wsgi.url_scheme'];
      const host = environ.HTTP_HOST;
      if (host !== undefined && host !== '') environ.HTTP_X_FORWARDED_HOST = host;
    },
  });
}

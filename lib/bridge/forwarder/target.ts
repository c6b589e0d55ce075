// The request target as it goes to Kallithea. The raw target (UNENCODED_URL, REQUEST_URI) is
// a latin1 string holding the client's bytes one per character. The client writes the request
// line as latin1, so those bytes reach Kallithea unchanged: `%2F` stays `%2F`, raw UTF-8
// stays the same bytes. It refuses only bytes outside 0x21-0xFF (space and controls,
// which a conforming client never sends raw); those alone are percent-encoded here.

// eslint-disable-next-line no-control-regex -- control bytes are what is being encoded
const REFUSED = /[\x00-\x20]/;
const REFUSED_ALL = new RegExp(REFUSED.source, 'g');

export function upstreamTarget(rawTarget: string): string {
  // Tested first: a target almost never holds one, and a replace() with a function runs in
  // the engine's slow path even when nothing matches.
  const target = REFUSED.test(rawTarget)
    ? rawTarget.replace(
        REFUSED_ALL,
        (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
      )
    : rawTarget;
  return target.startsWith('/') ? target : `/${target}`;
}

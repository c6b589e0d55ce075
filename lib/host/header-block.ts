// The status and header block an extension hands to SEND_RESPONSE_HEADER(_EX): "200 OK"
// and "Name: value\r\n...\r\n", with body bytes allowed after the blank line.

export interface ParsedResponseHead {
  status: number;
  reason: string;
  /** In order, duplicates kept, names as the extension spelled them. */
  headers: Array<[string, string]>;
  /** Bytes after the blank line: the start of the body. */
  body: Buffer;
}

/** "200 OK", also tolerating "HTTP/1.1 200 OK" and "Status: 200 OK" (as mod_isapi does). */
export function parseStatus(text: string): { status: number; reason: string } {
  const match = /^(?:HTTP\/\d\.\d\s+|Status:\s*)?(\d{3})(?:\s+(.*))?$/i.exec(text.trim());
  if (match === null) return { status: 200, reason: 'OK' };
  return { status: Number(match[1]), reason: match[2] ?? '' };
}

export function parseResponseHead(statusText: string, block: Buffer): ParsedResponseHead {
  const { status, reason } = parseStatus(statusText);
  let end = block.indexOf('\r\n\r\n');
  let bodyStart = end + 4;
  if (end < 0) {
    end = block.indexOf('\n\n');
    bodyStart = end + 2;
  }
  if (end < 0) {
    end = block.length;
    bodyStart = block.length;
  }
  const headers: Array<[string, string]> = [];
  for (const line of block.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { status, reason, headers, body: block.subarray(bodyStart) };
}

// FastCGI 1.0 constants, named as the specification names them (FCGI_BEGIN_REQUEST is
// RecordType.BeginRequest). The codec (records.ts, record-parser.ts) and the responder
// (connection.ts) read these; nothing here does I/O.

export const FCGI_VERSION_1 = 1;
export const FCGI_HEADER_LEN = 8;
/** The largest record body: the header's contentLength is two bytes. */
export const FCGI_MAX_CONTENT = 65535;
export const FCGI_NULL_REQUEST_ID = 0;

export const RecordType = {
  BeginRequest: 1,
  AbortRequest: 2,
  EndRequest: 3,
  Params: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Data: 8,
  GetValues: 9,
  GetValuesResult: 10,
  UnknownType: 11,
} as const;
export type KnownRecordType = (typeof RecordType)[keyof typeof RecordType];

export const Role = { Responder: 1, Authorizer: 2, Filter: 3 } as const;

/** FCGI_BEGIN_REQUEST flags: keep the connection open after FCGI_END_REQUEST. */
export const FCGI_KEEP_CONN = 1;

export const ProtocolStatus = {
  RequestComplete: 0,
  CantMpxConn: 1,
  Overloaded: 2,
  UnknownRole: 3,
} as const;

/** The names a FCGI_GET_VALUES record may ask for. */
export const ValueName = {
  MaxConns: 'FCGI_MAX_CONNS',
  MaxReqs: 'FCGI_MAX_REQS',
  MpxsConns: 'FCGI_MPXS_CONNS',
} as const;

export function recordTypeName(type: number): string {
  for (const [name, value] of Object.entries(RecordType)) if (value === type) return name;
  return `type ${type}`;
}

// Which CPU a Windows DLL is built for, read from its PE header. IIS loads an ISAPI DLL into
// the worker process of its application pool; a 32-bit DLL in a 64-bit pool (or the other way
// round) fails at LoadLibrary with ERROR_BAD_EXE_FORMAT, which IIS shows as HTTP 500.21 /
// 0x800700c1 on the first request, long after the install "succeeded". Reading the header
// first turns that into a clear refusal at install time.
import { open } from 'node:fs/promises';

export type Bitness = 64 | 32;

/** What the PE header says, or why the file is not a Windows DLL we can load. */
export type PeInspection =
  | { ok: true; machine: number; machineName: string; bitness: Bitness | undefined; isDll: boolean }
  | { ok: false; reason: string };

const IMAGE_FILE_MACHINE_I386 = 0x014c;
const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;
const IMAGE_FILE_DLL = 0x2000;

const machineNames = new Map<number, string>([
  [IMAGE_FILE_MACHINE_I386, 'x86 (32-bit)'],
  [IMAGE_FILE_MACHINE_AMD64, 'x64 (64-bit)'],
  [IMAGE_FILE_MACHINE_ARM64, 'ARM64'],
]);

/** Reads the machine field of a PE image held in `bytes` (the first 4 KiB are enough). */
export function inspectPeBytes(bytes: Uint8Array, headerAt?: number): PeInspection {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 0x40 || bytes[0] !== 0x4d || bytes[1] !== 0x5a) {
    return { ok: false, reason: 'not a Windows PE file (no MZ signature)' };
  }
  const peOffset = headerAt ?? view.getUint32(0x3c, true);
  if (peOffset + 24 > bytes.length) {
    return {
      ok: false,
      reason: `not a Windows PE file (PE header offset ${peOffset} is past the file's start)`,
    };
  }
  if (view.getUint32(peOffset, false) !== 0x50450000) {
    return { ok: false, reason: 'not a Windows PE file (no PE signature where the MZ header points)' };
  }
  const machine = view.getUint16(peOffset + 4, true);
  const characteristics = view.getUint16(peOffset + 22, true);
  const bitness =
    machine === IMAGE_FILE_MACHINE_AMD64 ? 64 : machine === IMAGE_FILE_MACHINE_I386 ? 32 : undefined;
  const machineName = machineNames.get(machine) ?? `machine 0x${machine.toString(16).padStart(4, '0')}`;
  return { ok: true, machine, machineName, bitness, isDll: (characteristics & IMAGE_FILE_DLL) !== 0 };
}

/** Reads the PE header of the file at `path`. */
export async function inspectPeFile(path: string): Promise<PeInspection> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    return { ok: false, reason: `cannot open it: ${(error as Error).message}` };
  }
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytesRead >= 0x40 && bytes[0] === 0x4d && bytes[1] === 0x5a) {
      const peOffset = bytes.readUInt32LE(0x3c);
      if (peOffset + 24 > bytesRead) {
        // An unusually long DOS stub: read the header where it says it is.
        const far = Buffer.alloc(24);
        const got = (await handle.read(far, 0, 24, peOffset)).bytesRead;
        const joined = Buffer.concat([bytes.subarray(0, 0x40), far.subarray(0, got)]);
        return inspectPeBytes(joined, 0x40);
      }
    }
    return inspectPeBytes(bytes);
  } finally {
    await handle.close();
  }
}

/**
 * Why this DLL cannot run in a pool of `bitness`, or undefined when it can. The message names
 * the IIS symptom it prevents and both ways out.
 */
export function bitnessMismatch(
  path: string,
  inspection: PeInspection,
  bitness: Bitness,
): string | undefined {
  if (!inspection.ok)
    return `${path}: ${inspection.reason}; give --dll the kallithea_isapi.dll built for Windows`;
  if (!inspection.isDll) return `${path}: a Windows ${inspection.machineName} program, not a DLL`;
  if (inspection.bitness === bitness) return undefined;
  const wanted = bitness === 64 ? 'x64 (64-bit)' : 'x86 (32-bit)';
  const fix =
    inspection.bitness === undefined
      ? `IIS runs only x64 or x86 ISAPI DLLs here: use the ${wanted} build`
      : `Use the ${wanted} build of kallithea_isapi.dll, or pass --bitness ${inspection.bitness} ` +
        `to register it in a ${inspection.bitness}-bit application pool`;
  return (
    `${path} is built for ${inspection.machineName}, but the application pool will be ${bitness}-bit: ` +
    `IIS would fail every request with HTTP 500.21 (0x800700c1, ERROR_BAD_EXE_FORMAT). ${fix}`
  );
}

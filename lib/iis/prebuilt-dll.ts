// The Windows DLLs the package ships (scripts/build-windows.sh puts them there), one per
// application pool bitness: IIS loads the DLL into the pool's worker process, so a 64-bit
// pool needs the x64 DLL and a 32-bit pool ("enable32BitAppOnWin64") the x86 one.
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Bitness } from './pe-machine.js';

/** prebuilds/win32-x64/kallithea_isapi.dll or prebuilds/win32-ia32/... under `packageRoot`. */
export function prebuiltDllPath(packageRoot: string, bitness: Bitness): string {
  return path.join(
    packageRoot,
    'prebuilds',
    bitness === 64 ? 'win32-x64' : 'win32-ia32',
    'kallithea_isapi.dll',
  );
}

/** The prebuilt DLL for `bitness`, or a problem naming the missing file and the fixes. */
export async function findPrebuiltDll(
  packageRoot: string,
  bitness: Bitness,
): Promise<{ path: string } | { problem: string }> {
  const dll = prebuiltDllPath(packageRoot, bitness);
  try {
    await access(dll);
    return { path: dll };
  } catch {
    return {
      problem:
        `no prebuilt ${bitness}-bit DLL at ${dll}; pass --dll with the path of ` +
        `kallithea_isapi.dll, or build it (npm run build:windows-dll, or npm run build:dll with MSVC)`,
    };
  }
}

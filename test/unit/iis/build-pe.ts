// Builds tiny real PE files with mingw-w64 (x86_64-w64-mingw32-gcc, i686-w64-mingw32-gcc) for
// the tests that read PE headers.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export type PeKind = 'x64-dll' | 'x86-dll' | 'x64-exe';

const compilers = {
  'x64-dll': 'x86_64-w64-mingw32-gcc',
  'x86-dll': 'i686-w64-mingw32-gcc',
  'x64-exe': 'x86_64-w64-mingw32-gcc',
};

export function buildPe(dir: string, kind: PeKind, name: string): string {
  const source = path.join(dir, `${name}.c`);
  const output = path.join(dir, name);
  if (kind === 'x64-exe') {
    writeFileSync(source, 'int main(void) { return 0; }\n');
    execFileSync(compilers[kind], ['-o', output, source]);
  } else {
    writeFileSync(source, 'int __stdcall HttpExtensionProc(void *ecb) { return ecb != 0; }\n');
    execFileSync(compilers[kind], ['-shared', '-o', output, source]);
  }
  return output;
}

// Which DLL `install` registers when --dll is not given: the package's prebuilt one for the
// pool's bitness (prebuilds/win32-x64 or prebuilds/win32-ia32), or a refusal that says how to
// get one.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findPrebuiltDll, prebuiltDllPath } from '../../../lib/iis/prebuilt-dll.js';
import { inspectPeFile } from '../../../lib/iis/pe-machine.js';
import { buildPe } from './build-pe.js';

describe('prebuilt DLL for the pool bitness', function () {
  this.timeout(60_000);
  let root: string;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'kisapi-prebuilt-'));
    for (const [bitness, kind] of [
      [64, 'x64-dll'],
      [32, 'x86-dll'],
    ] as const) {
      const target = prebuiltDllPath(root, bitness);
      mkdirSync(path.dirname(target), { recursive: true });
      const scratch = mkdtempSync(path.join(root, `${kind}-`));
      renameSync(buildPe(scratch, kind, 'kallithea_isapi.dll'), target);
    }
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('takes prebuilds/win32-x64 for a 64-bit pool and prebuilds/win32-ia32 for a 32-bit one', async () => {
    const x64 = await findPrebuiltDll(root, 64);
    const x86 = await findPrebuiltDll(root, 32);
    assert.ok('path' in x64 && 'path' in x86);
    assert.equal(x64.path, path.join(root, 'prebuilds', 'win32-x64', 'kallithea_isapi.dll'));
    assert.equal(x86.path, path.join(root, 'prebuilds', 'win32-ia32', 'kallithea_isapi.dll'));
    const [pe64, pe32] = [await inspectPeFile(x64.path), await inspectPeFile(x86.path)];
    assert.ok(pe64.ok && pe32.ok);
    assert.equal(pe64.bitness, 64);
    assert.equal(pe32.bitness, 32);
  });

  it('names the missing file and the ways to get one', async () => {
    rmSync(prebuiltDllPath(root, 32));
    const missing = await findPrebuiltDll(root, 32);
    assert.ok('problem' in missing);
    assert.match(missing.problem, /no prebuilt 32-bit DLL at .*win32-ia32.kallithea_isapi\.dll/);
    assert.match(missing.problem, /--dll/);
    assert.match(missing.problem, /npm run build:windows-dll/);
  });
});

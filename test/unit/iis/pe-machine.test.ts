// PE bitness detection on real DLLs built by mingw-w64, and refusal of what IIS cannot load.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bitnessMismatch, inspectPeFile } from '../../../lib/iis/pe-machine.js';
import { buildPe } from './build-pe.js';

describe('PE machine detection', function () {
  this.timeout(60_000);
  let dir: string;
  let x64: string;
  let x86: string;
  let exe: string;

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kisapi-pe-'));
    x64 = buildPe(dir, 'x64-dll', 'k64.dll');
    x86 = buildPe(dir, 'x86-dll', 'k32.dll');
    exe = buildPe(dir, 'x64-exe', 'prog.exe');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads 0x8664 (x64) from a 64-bit DLL', async () => {
    const pe = await inspectPeFile(x64);
    assert.ok(pe.ok);
    assert.equal(pe.machine, 0x8664);
    assert.equal(pe.bitness, 64);
    assert.equal(pe.isDll, true);
    assert.equal(bitnessMismatch(x64, pe, 64), undefined);
  });

  it('reads 0x14c (x86) from a 32-bit DLL', async () => {
    const pe = await inspectPeFile(x86);
    assert.ok(pe.ok);
    assert.equal(pe.machine, 0x14c);
    assert.equal(pe.bitness, 32);
    assert.equal(bitnessMismatch(x86, pe, 32), undefined);
  });

  it('refuses a mismatch, naming the 500.21 symptom and both fixes', async () => {
    const message = bitnessMismatch(x86, await inspectPeFile(x86), 64);
    assert.match(message ?? '', /x86 \(32-bit\).*64-bit/);
    assert.match(message ?? '', /500\.21/);
    assert.match(message ?? '', /0x800700c1/);
    assert.match(message ?? '', /--bitness 32/);
    assert.match(bitnessMismatch(x64, await inspectPeFile(x64), 32) ?? '', /--bitness 64/);
  });

  it('refuses an executable that is not a DLL', async () => {
    const message = bitnessMismatch(exe, await inspectPeFile(exe), 64);
    assert.match(message ?? '', /not a DLL/);
  });

  it('refuses a file that is not PE at all', async () => {
    const elf = path.join(dir, 'not-pe.dll');
    writeFileSync(elf, Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(200)]));
    const pe = await inspectPeFile(elf);
    assert.equal(pe.ok, false);
    assert.match(bitnessMismatch(elf, pe, 64) ?? '', /not a Windows PE file/);
  });

  it('refuses an MZ file whose PE header is missing', async () => {
    const fake = path.join(dir, 'mz-only.dll');
    const bytes = Buffer.alloc(256);
    bytes.write('MZ', 0);
    bytes.writeUInt32LE(0x80, 0x3c);
    writeFileSync(fake, bytes);
    const pe = await inspectPeFile(fake);
    assert.equal(pe.ok, false);
    assert.match(pe.ok ? '' : pe.reason, /no PE signature/);
  });

  it('reports a missing file', async () => {
    const pe = await inspectPeFile(path.join(dir, 'absent.dll'));
    assert.equal(pe.ok, false);
  });
});

// Headless Chromium as the Windows user CORP\alice (isapi-host's emulated Windows login,
// answering serve's Basic login prompt): opens a repository, browses a file, views a
// changeset, through the whole path; screenshots go to test/out/kallithea/.
import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { accounts, kallithea, outDir } from '../support/kallithea.js';

describe('Kallithea: a browser as CORP\\alice', function () {
  this.timeout(180_000);
  let browser: Browser | undefined;
  let profile = '';

  before(async function () {
    profile = await mkdtemp(join(tmpdir(), 'kallithea-chromium-'));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      // A new, empty profile for this run (playwright refuses --user-data-dir with launch()).
      env: { ...process.env, HOME: profile },
    });
  });

  after(async function () {
    await browser?.close();
    if (profile !== '') await rm(profile, { recursive: true, force: true });
  });

  async function aliceContext(): Promise<BrowserContext> {
    assert.ok(browser !== undefined);
    return browser.newContext({
      httpCredentials: { username: accounts.alice.user, password: accounts.alice.password },
    });
  }

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: opens hgrepo, browses README.txt, views the changeset`, async function () {
      const k = kallithea();
      const base = k[which].url;
      const context = await aliceContext();
      try {
        const page = await context.newPage();
        const summary = await page.goto(new URL('hgrepo', base).toString());
        assert.equal(summary?.status(), 200);
        assert.equal(await page.locator('.menu_link_user').first().textContent(), 'alice');
        assert.match(await page.content(), /README\.txt|hgrepo/);
        await page.screenshot({ path: join(outDir, `browser-${which}-summary.png`), fullPage: true });

        const file = await page.goto(new URL('hgrepo/files/tip/README.txt', base).toString());
        assert.equal(file?.status(), 200);
        assert.match(await page.locator('body').innerText(), /README\.txt/);
        await page.screenshot({ path: join(outDir, `browser-${which}-file.png`), fullPage: true });

        const changeset = await page.goto(new URL('hgrepo/changeset/tip', base).toString());
        assert.equal(changeset?.status(), 200);
        const text = await page.locator('body').innerText();
        assert.match(text, /\.txt/);
        assert.match(text, /[0-9a-f]{12}/);
        await page.screenshot({ path: join(outDir, `browser-${which}-changeset.png`), fullPage: true });
        // Every link Kallithea drew stays inside the virtual directory.
        const hrefs = await page
          .locator('a[href^="/"]')
          .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
        assert.ok(hrefs.length > 0);
        if (which === 'vdir')
          assert.deepEqual(
            hrefs.filter((h) => !h.startsWith('/kallithea/')),
            [],
          );
      } finally {
        await context.close();
      }
    });
  }
});

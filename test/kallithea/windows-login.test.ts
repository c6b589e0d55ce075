// A Windows-authenticated user (isapi-host's emulated CORP\alice) opens the repository list:
// the DLL passes AUTH_USER/REMOTE_USER, the bridge sends X-Forwarded-User, and Kallithea's
// container plugin creates and logs in the clean name `alice`. Client-sent copies of the
// user header, in any spelling, must not log anybody in.
import { strict as assert } from 'node:assert';
import { accounts, kallithea } from '../support/kallithea.js';
import { basic, get } from './support/http.js';

describe('Kallithea: Windows login through the whole path', function () {
  this.timeout(120_000);

  for (const which of ['root', 'vdir'] as const) {
    it(`${which}: CORP\\alice sees the repository list as alice, created on first sight`, async function () {
      const k = kallithea();
      const path = k[which];
      // Other tests (the browser's) may have logged alice in already: start without her.
      if (which === 'root') await k.api('delete_user', { userid: 'alice' }).catch(() => undefined);
      const before = await k.userInfo('alice');
      const page = await get(path.url, {
        Authorization: basic(accounts.alice.user, accounts.alice.password),
      });
      assert.equal(page.status, 200, page.body.slice(0, 500));
      assert.match(page.body, /hgrepo/);
      assert.match(page.body, /gitrepo/);
      // The header menu names the logged-in user.
      assert.match(page.body, /<span class="menu_link_user">alice<\/span>/);
      if (which === 'vdir') assert.match(page.body, /href="\/kallithea\/_admin\/my_account"/);
      const info = await k.userInfo('alice');
      assert.match(info, /username=alice active=True admin=False extern_type=container/);
      if (which === 'root') assert.match(before, /no such user: alice/);
    });

    it(`${which}: a request without credentials gets the Windows login prompt`, async function () {
      const answer = await get(kallithea()[which].url);
      assert.equal(answer.status, 401);
      assert.match(String(answer.headers['www-authenticate']), /^Basic realm="Windows login/);
      if (which === 'vdir') {
        // Outside the application the host answers, as IIS would for another part of the site.
        const outside = await get(new URL('/', kallithea().vdir.url).toString());
        assert.equal(outside.status, 404);
      }
    });

    for (const header of ['X-Forwarded-User', 'X_Forwarded_User', 'x-forwarded-user']) {
      it(`${which}: a client-sent ${header} logs nobody in`, async function () {
        const k = kallithea();
        const path = k[which];
        for (const forged of ['admin', 'dave', 'CORP\\dave']) {
          // bob's Kallithea credentials pass the host anonymously (no Windows user), as
          // hg and git requests do; Kallithea's web pages ignore Basic, so only the header
          // could log anybody in.
          const page = await get(path.url, {
            [header]: forged,
            Authorization: basic(accounts.bob.user, accounts.bob.password),
          });
          assert.equal(page.status, 302, `${header}: ${forged} answered ${page.status}`);
          assert.match(String(page.headers.location), /\/_admin\/login/);
          // With alice's Windows login, the forged header does not change who she is.
          const asAlice = await get(path.url, {
            [header]: forged,
            Authorization: basic(accounts.alice.user, accounts.alice.password),
          });
          assert.equal(asAlice.status, 200);
          assert.match(asAlice.body, /<span class="menu_link_user">alice<\/span>/);
          assert.doesNotMatch(asAlice.body, /\bdave\b/);
        }
        assert.match(await k.userInfo('dave'), /no such user: dave/);
      });
    }
  }
});

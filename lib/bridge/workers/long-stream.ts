// Which requests are long hg/git streams: the ones whose length grows with the repository
// (a clone, a pull, a push), as opposed to the short requests of the same protocols (refs,
// capabilities, listkeys, ...) and to pages. The router keeps the last worker free of them
// (router.ts). Misclassification only changes the order requests get workers in: a client
// that marks its requests as streams gets them later, never a worker of its own.
import type { Environ } from '../environ/environ.js';

/** git's smart HTTP POSTs: the pack of a clone/fetch, and of a push. */
const GIT_STREAM = /\/(git-upload-pack|git-receive-pack)$/;
/** hg's wire commands that send or take a bundle. */
const HG_STREAM = /(?:^|&)cmd=(getbundle|unbundle|stream_out|changegroup|changegroupsubset)(?:&|$)/;

/** Judged on the raw request target, the one sent to Kallithea (PATH_INFO depends on the mapping). */
export function isLongVcsStream(environ: Environ): boolean {
  const target = environ['kallithea_isapi.raw_target'];
  const query = target.indexOf('?');
  const path = query < 0 ? target : target.slice(0, query);
  return GIT_STREAM.test(path) || (query >= 0 && HG_STREAM.test(target.slice(query + 1)));
}

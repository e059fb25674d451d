// Comments a PR's preview URL on the PR, editing its own earlier comment instead of adding one per push.
//   UPLOAD_OUTPUT="<stdout of wrangler versions upload>" node scripts/preview-comment.mjs --pr 12
// Needs GITHUB_TOKEN (pull-requests: write) and GITHUB_REPOSITORY; GITHUB_API_URL overrides
// https://api.github.com (the test's stand-in). The token only goes into the Authorization header.
import { parseArgs } from 'node:util';
import { output, summary } from './lib/github-summary.mjs';

const MARKER = '<!-- app-ubr-preview -->';

export function parseUpload(text) {
  return {
    versionId: /Worker Version ID:\s*([0-9a-f-]{36})/i.exec(text)?.[1],
    previewUrl: /Version Preview URL:\s*(https:\/\/\S+)/.exec(text)?.[1],
    aliasUrl: /Version Preview Alias URL:\s*(https:\/\/\S+)/.exec(text)?.[1],
  };
}

async function main() {
  const { values } = parseArgs({ options: { pr: { type: 'string' }, sha: { type: 'string', default: process.env.GITHUB_SHA ?? '' } } });
  const pr = Number(values.pr);
  const { GITHUB_TOKEN: token, GITHUB_REPOSITORY: repo } = process.env;
  const api = (process.env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, '');
  if (!Number.isInteger(pr) || pr <= 0) throw new Error('--pr must be a pull request number');
  if (!token || !repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new Error('GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name) are required');
  const upload = parseUpload(process.env.UPLOAD_OUTPUT ?? '');
  if (!upload.versionId || !(upload.aliasUrl || upload.previewUrl)) {
    throw new Error('no version id / preview URL in UPLOAD_OUTPUT (are preview URLs enabled for the Worker?)');
  }
  const url = upload.aliasUrl ?? upload.previewUrl;
  const body = [
    MARKER,
    `**Preview** of ${values.sha ? `\`${values.sha.slice(0, 7)}\`` : 'this PR'}: ${url}`,
    '',
    `- health: ${url}/api/v1/health`,
    `- this exact version: ${upload.previewUrl ?? url} (Worker version \`${upload.versionId}\`)`,
    '',
    'Runs against the **staging** bindings (D1, KV, queues). Not deployed: no traffic reaches it.',
  ].join('\n');

  const gh = async (method, path, json) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'app-ubr-preview', ...(json ? { 'Content-Type': 'application/json' } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });
    if (!res.ok) throw new Error(`GitHub ${method} ${path}: ${res.status}`);
    return res.json();
  };
  let existing;
  for (let page = 1; page <= 10 && !existing; page++) {
    const comments = await gh('GET', `/repos/${repo}/issues/${pr}/comments?per_page=100&page=${page}`);
    existing = comments.find((c) => typeof c.body === 'string' && c.body.startsWith(MARKER));
    if (comments.length < 100) break;
  }
  if (existing) await gh('PATCH', `/repos/${repo}/issues/comments/${existing.id}`, { body });
  else await gh('POST', `/repos/${repo}/issues/${pr}/comments`, { body });
  output('preview_url', url);
  output('version_id', upload.versionId);
  summary(`### Preview\n\n${url} (version \`${upload.versionId}\`)`);
  console.log(`preview-comment: ${existing ? 'updated' : 'posted'} ${url} on #${pr}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(`preview-comment: ${err.message}`);
    process.exit(1);
  });
}

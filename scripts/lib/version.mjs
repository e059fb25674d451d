// One version source: package.json `version`. Deploys send APP_VERSION=<version>+<short git sha>
// (SemVer build metadata), so Sentry releases and /health name the exact build.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function packageVersion(file = 'package.json') {
  return JSON.parse(readFileSync(file, 'utf8')).version;
}

export function releaseVersion() {
  // RELEASE_SHA: the deploy workflow's commit (under workflow_run, GITHUB_SHA is main's head, not the built commit).
  let sha = (process.env.RELEASE_SHA || process.env.GITHUB_SHA)?.slice(0, 7);
  if (!sha) {
    try {
      sha = execFileSync('git', ['rev-parse', '--short=7', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      sha = '';
    }
  }
  return sha ? `${packageVersion()}+${sha}` : packageVersion();
}

/** wrangler arguments that set APP_VERSION for this build. */
export function versionVarArgs() {
  return ['--var', `APP_VERSION:${releaseVersion()}`];
}

// `node scripts/lib/version.mjs` prints the release version (the deploy workflow's APP_VERSION).
if (import.meta.url === `file://${process.argv[1]}`) console.log(releaseVersion());

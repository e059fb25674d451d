/**
 * Which build is running: the Sentry release and the Worker version from the version metadata
 * binding (`[version_metadata] binding = "CF_VERSION_METADATA"`). During a gradual rollout two
 * versions serve at once; the version id tells their errors and metrics apart.
 */
export interface ReleaseInfo {
  /** `app-ubr@<APP_VERSION>`; deploys set APP_VERSION to `<package.json version>+<git sha>`. */
  release: string;
  /** Worker version id (a UUID), '' when the binding is absent. */
  versionId: string;
  /** `wrangler versions upload --tag`, often ''. */
  versionTag: string;
  /** When the version was uploaded (ISO 8601), '' when unknown. */
  versionTimestamp: string;
}

const cache = new WeakMap<object, ReleaseInfo>();

function text(value: unknown, max: number): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/**
 * APP_VERSION names the release (it is what `sentry-cli sourcemaps upload --release` is given); a
 * version tag completes it when APP_VERSION carries no build part (`0.2.0` + tag `abc123` →
 * `0.2.0+abc123`). Without APP_VERSION the version id stands in, so events still group per build.
 */
export function releaseInfo(env: Partial<CloudflareBindings>): ReleaseInfo {
  const cached = cache.get(env);
  if (cached) return cached;
  const meta = env.CF_VERSION_METADATA as Partial<WorkerVersionMetadata> | undefined;
  const versionId = text(meta?.id, 64);
  const versionTag = text(meta?.tag, 100);
  const versionTimestamp = text(meta?.timestamp, 40);
  const appVersion = text(env.APP_VERSION, 100).trim();
  const base = appVersion || (versionId ? `0.0.0+${versionId}` : 'unknown');
  const version = !base.includes('+') && versionTag ? `${base}+${versionTag}` : base;
  const info = { release: `app-ubr@${version}`, versionId, versionTag, versionTimestamp };
  cache.set(env, info);
  return info;
}

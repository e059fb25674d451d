export interface UpstashBridgeOptions {
  redisPort: number;
  redisHost?: string;
  /** Bearer token clients must present. */
  token: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
}

export interface UpstashBridge {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge>;

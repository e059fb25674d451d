import type { AuthVariables } from './auth';
import type { BodyVariables } from './body';
import type { DeviceVariables } from './device';
import type { RequestIdVariables } from './request-id';

// What the middleware sets on `c.var`, added to lib/factory.ts's AppVariables from here (types
// only, nothing at runtime): the platform floor stays free of imports from middleware/.
declare module '../lib/factory' {
  interface AppVariables extends RequestIdVariables, AuthVariables, BodyVariables, DeviceVariables {}
}

import { AppError, defineErrors } from '../../lib/errors';

export const ROLES_ERRORS = defineErrors({
  PERMISSION_CEILING: 'You can only hand out permissions you hold yourself',
});

declare module '../../lib/errors' {
  interface FeatureErrors {
    roles: typeof ROLES_ERRORS;
  }
}

/** A caller handing out, or acting on someone holding, more than it holds (see ceilings.ts). */
export const ceilingError = (message?: string) => new AppError(403, 'PERMISSION_CEILING', { message });

// The two business rules of roles. The contract answers both with 422 BUSINESS_RULE and tells
// them apart by message only, so they stay on that code; each has its own constructor here.

/** Built-in roles are referred to by name (migrations, the admin rule): never renamed, never deleted. */
export const builtInRoleFixed = (change: 'renamed' | 'deleted') => new AppError(422, 'BUSINESS_RULE', { message: `Built-in roles cannot be ${change}` });

/** The admin role row keeps every permission, as its holders do by rule (see lib/permissions.ts). */
export const adminKeepsEveryPermission = () => new AppError(422, 'BUSINESS_RULE', { message: 'The admin role keeps every permission' });

import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { guard } from '../../middleware/guard';
import { ErrorResponse } from '../docs/common.schemas';
import { UserResponse } from './users.schemas';
import { loadProfiles, toUserView } from './users.service';

const meRoute = defineRoute({
  method: 'get',
  path: '/users/me',
  summary: 'The signed-in user',
  tags: ['users'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'The caller', schema: UserResponse }, 401: { description: 'Not signed in', schema: ErrorResponse } },
});

export const usersRoutes = factory.createApp().get(meRoute.path, guard(meRoute), async (c) => {
  const auth = c.var.auth!;
  // The auth check already read the user row; only the profile is left to fetch.
  const profiles = await loadProfiles(c.var.db, [auth.userId]);
  return c.json(toUserView(auth.user, profiles.get(auth.userId) ?? null));
});

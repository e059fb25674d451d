import { createAppClient, type AppClientOptions } from './src/index';

/** Register → who am I → refresh, as a frontend would (README example; run by the test suite). */
export async function example(options: AppClientOptions, email: string) {
  const api = createAppClient(options);

  const registered = await api.POST('/api/v1/auth/register', {
    body: { email, password: 'correct horse battery staple', fullName: 'Ada Lovelace' },
  });
  if (!registered.data) throw new Error(`register: ${registered.error?.error.code}`);
  api.setAccessToken(registered.data.accessToken);

  const me = await api.GET('/api/v1/users/me');
  if (!me.data) throw new Error(`me: ${me.error?.error.code}`);

  const refreshed = await api.POST('/api/v1/auth/refresh', {
    body: { refreshToken: registered.data.refreshToken },
  });
  if (!refreshed.data) throw new Error(`refresh: ${refreshed.error?.error.code}`);
  api.setAccessToken(refreshed.data.accessToken);

  return { me: me.data, pair: refreshed.data };
}

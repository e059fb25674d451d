import { audit } from '../../lib/audit';
import { AppError } from '../../lib/errors';
import { factory } from '../../lib/factory';
import { AUTHENTICATED, defineRoute } from '../../lib/route';
import { endpoint } from '../../middleware/endpoint';
import { ErrorResponse, NoContent } from '../docs/common.schemas';
import { DeviceIdParams, DeviceList, DeviceResponse, RegisterDeviceBody } from './devices.schemas';
import { deleteDevice, listDevices, registerDevice } from './devices.service';

const registerRoute = defineRoute({
  method: 'post',
  path: '/',
  idempotent: true,
  summary: 'Register (or refresh) a push token for the caller’s device',
  tags: ['devices'],
  access: AUTHENTICATED,
  request: { body: RegisterDeviceBody },
  responses: {
    201: { description: 'Registered', schema: DeviceResponse },
    200: { description: 'Already registered; refreshed', schema: DeviceResponse },
    400: { description: 'Invalid input', schema: ErrorResponse },
  },
});

const listRoute = defineRoute({
  method: 'get',
  path: '/',
  summary: "The caller's registered devices",
  tags: ['devices'],
  access: AUTHENTICATED,
  responses: { 200: { description: 'Devices, most recently seen first', schema: DeviceList } },
});

const deleteRoute = defineRoute({
  method: 'delete',
  path: '/:id',
  summary: 'Unregister one of the caller’s devices (no more pushes to it)',
  tags: ['devices'],
  access: AUTHENTICATED,
  request: { params: DeviceIdParams },
  responses: { 204: NoContent, 404: { description: 'No such device of the caller', schema: ErrorResponse } },
});

export const devicesRoutes = factory
  .createApp()
  .post(registerRoute.path, endpoint(registerRoute), async (c) => {
    const auth = c.var.auth;
    const result = await registerDevice(c.var.db, auth.userId, c.req.valid('json'));
    audit(c, { action: 'device.register', outcome: 'success', targetId: auth.userId, details: { deviceId: result.device.id, provider: result.device.provider, moved: result.movedFromAnotherUser } });
    return c.json(result.device, result.created ? 201 : 200);
  })
  .get(listRoute.path, endpoint(listRoute), async (c) => c.json({ data: await listDevices(c.var.db, c.var.auth.userId) }))
  .delete(deleteRoute.path, endpoint(deleteRoute), async (c) => {
    const auth = c.var.auth;
    const { id } = c.req.valid('param');
    if (!(await deleteDevice(c.var.db, auth.userId, id))) throw new AppError(404, 'NOT_FOUND');
    audit(c, { action: 'device.delete', outcome: 'success', targetId: auth.userId, details: { deviceId: id } });
    return c.body(null, 204);
  });

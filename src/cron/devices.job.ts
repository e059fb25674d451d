import { deleteDevicesUnseenSince } from '../features/devices/devices.repository';
import { changes, DAY_MS, inChunks, type Job } from './job';

/** FCM treats tokens unused for 270 days as expired; so do we, for both providers. */
export const DEVICE_STALE_MS = 270 * DAY_MS;

export const cleanupStaleDevices: Job = ({ db, now }) =>
  inChunks(async () => changes(await deleteDevicesUnseenSince(db.app, new Date(now - DEVICE_STALE_MS), 1000)), { chunkSize: 1000, maxChunks: 5 });

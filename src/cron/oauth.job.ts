import { deleteDeadFamilies, deleteDeadFamilySpentTokens, deleteExpiredCodes } from '../features/oauth/oauth.cleanup';
import { changes, DAY_MS, inChunks, merge, type Job } from './job';

const CHUNK = 1000;
const budget = { chunkSize: CHUNK, maxChunks: 10 };

/** OAuth codes (60 s) and token families dead for a day: codes, then spent tokens, then the families. */
export const cleanupOAuth: Job = async ({ db, now }) => {
  const before = new Date(now - DAY_MS);
  const codes = await inChunks(async () => changes(await deleteExpiredCodes(db.auth, before, CHUNK)), budget);
  const spent = await inChunks(async () => changes(await deleteDeadFamilySpentTokens(db.auth, before, CHUNK)), budget);
  const families = await inChunks(async () => changes(await deleteDeadFamilies(db.auth, before, CHUNK)), budget);
  return merge([codes, spent, families], { codes: codes.affected, spentTokens: spent.affected, families: families.affected });
};

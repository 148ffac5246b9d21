import { FakeClock } from '../../lib/core/fake-clock.js';
import { MemoryStorage } from '../../lib/storage/memory/memory.storage.js';
import { describeStorageContract } from './storage-contract.js';

describeStorageContract('memory', async () => {
  const clock = new FakeClock(Date.now());
  const storage = new MemoryStorage({ clock });
  await storage.init();
  return { storage, advance: (ms) => clock.advance(ms), cleanup: () => storage.close(), claimsOnEnqueue: true };
});
